import io
from typing import Optional

import cv2
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from PIL import Image

from mgc_mm.registry import TRANSFORMS

_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'


def _check_jpeg_complete(data: bytes) -> None:
    """Raise ``ValueError`` if libjpeg runs out of data before the image is whole.

    OpenCV decodes a truncated JPEG without an error (the missing rows come out grey),
    so the question goes to PIL's libjpeg decoder, at 1/8 scale: it still reads every
    entropy-coded byte but skips most of the inverse DCT. Bytes after the end of the
    image (trailers that phones and editors append) are not an error.
    """
    try:
        with Image.open(io.BytesIO(data)) as pil:
            pil.draft('RGB', (max(1, pil.width // 8), max(1, pil.height // 8)))
            pil.load()
    except OSError as e:
        raise ValueError(f'truncated or corrupt JPEG ({e})') from e


def decode_image(data: bytes) -> np.ndarray:
    """Decode image bytes to an 8-bit, 3-channel BGR array.

    Grayscale, RGBA, CMYK and 16-bit images are converted, not rejected. A truncated
    JPEG or bytes that no decoder understands raise ``ValueError``. A JPEG that ends
    with its end-of-image marker is whole (a cut can only remove that marker: inside
    the coded data ``FF D9`` cannot occur); any other JPEG is checked by the decoder,
    so files with trailing data are kept and cut ones are refused.
    """
    if data[:2] == _JPEG_SOI and _JPEG_EOI not in data[-64:].rstrip(b'\x00\n\r '):
        _check_jpeg_complete(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    # IMREAD_COLOR: grey -> 3 channels, alpha dropped, CMYK -> BGR, 16 bit -> 8 bit.
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if img is None:
        # Formats OpenCV lacks; PIL refuses truncated files (unless a user turned on
        # ImageFile.LOAD_TRUNCATED_IMAGES globally).
        with Image.open(io.BytesIO(data)) as pil:
            pil.load()
            if pil.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
                arr = np.asarray(pil, dtype=np.float64)
                scale = 65535.0 if arr.max() > 255 else 255.0
                arr = np.clip(arr / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
                img = cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
            else:
                img = cv2.cvtColor(np.asarray(pil.convert('RGB')), cv2.COLOR_RGB2BGR)
    return img


@TRANSFORMS.register_module()
class LoadImageFromFileSafe(BaseTransform):
    """Load an image; log and skip a file that cannot be decoded.

    A drop-in for mmcv's ``LoadImageFromFile`` in training pipelines of long runs: a
    corrupt, truncated or unreadable file is logged with its path and the transform
    returns ``None``, which makes mmengine's ``BaseDataset`` draw another sample, so
    one bad file never stops a multi-day run. Images are always 8-bit BGR with three
    channels (grayscale, RGBA, CMYK and 16-bit inputs are converted).

    Required Keys: ``img_path``. Added Keys: ``img``, ``img_shape``, ``ori_shape``.

    Args:
        to_float32 (bool): Convert the image to float32. Defaults to False.
        backend_args (dict, optional): Arguments of the mmengine file backend.
    """

    def __init__(self, to_float32: bool = False, backend_args: Optional[dict] = None) -> None:
        self.to_float32 = to_float32
        self.backend_args = backend_args.copy() if backend_args else None

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            img = decode_image(fileio.get(filename, backend_args=self.backend_args))
        except Exception as e:  # noqa: BLE001 - any unreadable file is skipped
            print_log(f'skipping unreadable image {filename}: {type(e).__name__}: {e}',
                      logger='current', level=30)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'backend_args={self.backend_args})')
