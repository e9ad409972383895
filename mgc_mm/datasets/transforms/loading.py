import io
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import mmengine.fileio as fileio
import numpy as np
import torch
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


def _check_complete(data: bytes) -> None:
    """A JPEG that ends with its end-of-image marker is whole (a cut can only remove
    that marker: inside the coded data ``FF D9`` cannot occur); any other JPEG is
    checked by the decoder, so files with trailing data are kept and cut ones refused.
    """
    if data[:2] == _JPEG_SOI and _JPEG_EOI not in data[-64:].rstrip(b'\x00\n\r '):
        _check_jpeg_complete(data)


# EXIF orientations that swap height and width (transpose, rotate 90 / 270).
_EXIF_TRANSPOSED = (5, 6, 7, 8)


def read_image_header(data: bytes) -> Tuple[int, int, int]:
    """``(height, width, exif_orientation)`` of an encoded image, without decoding it.

    The size is that of the image as :func:`decode_image` returns it, i.e. after the
    EXIF rotation that OpenCV applies (orientations 5-8 swap the sides). A truncated
    JPEG or bytes that are no image raise ``ValueError``; this is the CPU workers' only
    check when the pixels are decoded on the training device.
    """
    _check_complete(data)
    try:
        with Image.open(io.BytesIO(data)) as pil:  # parses the header, no pixels
            wid, hgt = pil.size
            orientation = int(pil.getexif().get(0x0112, 1)) if pil.format == 'JPEG' else 1
    except Exception as e:  # noqa: BLE001 - PIL raises several kinds for bad bytes
        raise ValueError(f'not a readable image ({type(e).__name__}: {e})') from e
    if orientation not in range(1, 9):
        orientation = 1  # a broken tag: OpenCV ignores it too
    if orientation in _EXIF_TRANSPOSED:
        hgt, wid = wid, hgt
    return hgt, wid, orientation


def apply_exif_orientation(img: torch.Tensor, orientation: int) -> torch.Tensor:
    """Rotate / mirror a ``(C, H, W)`` image as EXIF ``orientation`` (1-8) says."""
    if orientation in (5, 6, 7, 8):
        img = img.transpose(-1, -2)
    flips = {2: (-1, ), 3: (-1, -2), 4: (-2, ), 5: (), 6: (-1, ), 7: (-1, -2), 8: (-2, )}
    dims = flips.get(orientation, ())
    return img.flip(dims) if dims else img


def _byte_tensor(b: Union[bytes, np.ndarray, torch.Tensor]) -> torch.Tensor:
    if isinstance(b, (bytes, bytearray)):
        return torch.frombuffer(bytearray(b), dtype=torch.uint8)
    if isinstance(b, np.ndarray):
        return torch.from_numpy(b if b.flags.writeable else b.copy()).to(torch.uint8)
    return torch.as_tensor(b, dtype=torch.uint8)


def decode_images_on(blobs: Sequence[Union[bytes, np.ndarray, torch.Tensor]],
                     orientations: Sequence[int],
                     device: Union[str, torch.device]) -> List[Union[torch.Tensor, Exception]]:
    """Decode a batch of encoded images on ``device``: ``(3, H, W)`` uint8 **BGR** each.

    JPEGs go through torchvision's ``decode_jpeg`` in one call on the list (nvJPEG on
    CUDA, libjpeg-turbo on CPU: the same decoder OpenCV uses, so CPU results equal
    :func:`decode_image`'s); PNG / WebP / GIF through torchvision's ``decode_image`` on
    the CPU; anything else (BMP, TIFF, ...) through :func:`decode_image`. The EXIF
    orientation read by :func:`read_image_header` is applied after decoding.
    An image that fails is returned as its exception, so the caller can name the file
    and replace the sample; the others are kept.
    """
    from torchvision.io import ImageReadMode, decode_image as tv_decode_image, decode_jpeg
    device = torch.device(device)
    datas = [_byte_tensor(b) for b in blobs]
    out: List[Union[torch.Tensor, Exception]] = [None] * len(datas)  # type: ignore
    jpeg = [i for i, d in enumerate(datas) if d.numel() > 2 and d[0] == 0xFF and d[1] == 0xD8]
    if jpeg:
        try:
            decoded = decode_jpeg([datas[i] for i in jpeg], mode=ImageReadMode.RGB,
                                  device=device)
            for i, img in zip(jpeg, decoded):
                out[i] = img
        except Exception:  # noqa: BLE001 - one bad file fails the call: find it
            for i in jpeg:
                try:
                    out[i] = decode_jpeg(datas[i], mode=ImageReadMode.RGB, device=device)
                except Exception as e:  # noqa: BLE001
                    out[i] = e
    bgr = [False] * len(datas)
    for i, d in enumerate(datas):
        if out[i] is not None:
            continue
        try:
            img = tv_decode_image(d, mode=ImageReadMode.RGB)
            if img.dtype != torch.uint8:  # 16-bit PNG
                img = torch.round(img.to(torch.float32) / 257).clamp(0, 255).to(torch.uint8)
            out[i] = img.to(device)
        except Exception:  # noqa: BLE001 - formats torchvision lacks (BMP, TIFF...)
            try:  # the CPU decoder of the CPU path, already oriented
                arr = decode_image(d.numpy().tobytes())
                out[i] = torch.from_numpy(arr).permute(2, 0, 1).contiguous().to(device)
                bgr[i] = True
            except Exception as e:  # noqa: BLE001
                out[i] = e
    for i, img in enumerate(out):
        if isinstance(img, torch.Tensor) and not bgr[i]:
            out[i] = apply_exif_orientation(img.flip(0), int(orientations[i]))  # RGB -> BGR
    return out


def decode_image(data: bytes) -> np.ndarray:
    """Decode image bytes to an 8-bit, 3-channel BGR array.

    Grayscale, RGBA, CMYK and 16-bit images are converted, not rejected. A truncated
    JPEG (see :func:`_check_complete`) or bytes that no decoder understands raise
    ``ValueError``.
    """
    _check_complete(data)
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

    With ``decode=False`` (``pixel_pipeline='device'``) the worker touches no pixels:
    it keeps the file's bytes for the training device to decode
    (:class:`~mgc_mm.models.utils.DevicePixelPreprocessor`) and reads only the size
    and EXIF orientation from the header; truncated files and bytes that are no
    image are still found here, logged and skipped.

    Required Keys: ``img_path``. Added Keys: ``img`` (``decode=True``) or
    ``img_bytes`` + ``exif_orientation`` (``decode=False``), ``img_shape``,
    ``ori_shape``.

    Args:
        to_float32 (bool): Convert the image to float32. Defaults to False.
        backend_args (dict, optional): Arguments of the mmengine file backend.
        decode (bool): decode here (True) or leave the bytes to the device.
    """

    def __init__(self, to_float32: bool = False, backend_args: Optional[dict] = None,
                 decode: bool = True) -> None:
        if to_float32 and not decode:
            raise ValueError('to_float32 needs decode=True')
        self.to_float32 = to_float32
        self.backend_args = backend_args.copy() if backend_args else None
        self.decode = decode

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            data = fileio.get(filename, backend_args=self.backend_args)
            if not self.decode:
                hgt, wid, orientation = read_image_header(data)
            else:
                img = decode_image(data)
        except Exception as e:  # noqa: BLE001 - any unreadable file is skipped
            print_log(f'skipping unreadable image {filename}: {type(e).__name__}: {e}',
                      logger='current', level=30)
            return None
        if not self.decode:
            results['img_bytes'] = np.frombuffer(bytearray(data), dtype=np.uint8)  # writable
            results['exif_orientation'] = orientation
            results['img_shape'] = results['ori_shape'] = (hgt, wid)
            return results
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'backend_args={self.backend_args}, decode={self.decode})')
