from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from mmpretrain.models import SelfSupDataPreprocessor

# Submodules, not the package: mgc_mm.datasets.transforms imports mgc_mm.models.
from mgc_mm.datasets.transforms.batched_geometric import pad_batch, resized_crop
from mgc_mm.datasets.transforms.batched_photometric import (apply_photometric,
                                                            collate_photometric)
from mgc_mm.datasets.transforms.loading import decode_images_on
from mgc_mm.registry import MODELS

# Data-sample fields the CPU workers of pixel_pipeline='device' pack.
DEVICE_PIPELINE_KEYS = ('img_bytes', 'exif_orientation', 'ori_shape', 'view_params')


@MODELS.register_module()
class DevicePixelPreprocessor(SelfSupDataPreprocessor):
    """mmpretrain's ``SelfSupDataPreprocessor`` that first makes the views on the device.

    The GPU half of ``pixel_pipeline='device'`` (issue 10): the CPU workers packed each
    image's encoded bytes and every view's parameters (crop box in original pixels,
    flip, output size, resize mode, photometric draws; see
    :mod:`mgc_mm.datasets.transforms.deferred`); here the whole batch is decoded on the
    training device (nvJPEG on CUDA, libjpeg-turbo on CPU), and each view index is
    rendered for all samples at once: crop + resize + flip as two batched matmuls
    (:func:`~mgc_mm.datasets.transforms.batched_geometric.resized_crop`), then colour
    jitter, grayscale, blur and solarize with the drawn parameters
    (:func:`~mgc_mm.datasets.transforms.batched_photometric.apply_photometric`). The
    result is what the CPU pipeline would have packed, and goes through the parent's
    BGR -> RGB conversion and normalisation. Batches that already carry ``inputs``
    (the CPU pipeline) pass straight to the parent, so one model config serves both.

    An image the device cannot decode (corrupt inside, or not the size its header
    said) is logged with its path and its sample replaced by the next good sample of
    the batch, so a long run never stops on one bad file.

    Args:
        channels_last (bool): return the views in ``channels_last`` memory format
            (faster convolutions under AMP on GPUs). Defaults to False.
        *args, **kwargs: ``SelfSupDataPreprocessor``'s (``mean``, ``std``, ``to_rgb``).
    """

    def __init__(self, *args, channels_last: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channels_last = channels_last

    def decode(self, data_samples: List) -> Tuple[torch.Tensor, List]:
        """Decode the batch on the device: ``(N, 3, H_max, W_max)`` float BGR, samples.

        Undecodable images are replaced (their samples too, so every per-sample field
        stays consistent with the pixels); all of them failing raises ``RuntimeError``.
        """
        missing = [k for k in DEVICE_PIPELINE_KEYS if k not in data_samples[0]]
        if missing:
            raise KeyError(f'data samples lack {missing}: the train pipeline of '
                           "pixel_pipeline='device' packs them (PackInputs algorithm_keys)")
        imgs = decode_images_on([s.img_bytes for s in data_samples],
                                [int(s.exif_orientation) for s in data_samples], self.device)
        good = []
        for i, (img, sample) in enumerate(zip(imgs, data_samples)):
            path = sample.get('img_path', f'sample {i}')
            expected = tuple(int(v) for v in sample.ori_shape)
            if isinstance(img, torch.Tensor) and tuple(img.shape[1:]) != expected:
                img = ValueError(f'decoded {tuple(img.shape[1:])}, header said {expected}')
                imgs[i] = img
            if isinstance(img, Exception):
                print_log(f'skipping undecodable image {path}: {type(img).__name__}: {img}',
                          logger='current', level=30)
            else:
                good.append(i)
        if not good:
            paths = [s.get('img_path', '?') for s in data_samples]
            raise RuntimeError(f'no image of the batch could be decoded: {paths}')
        samples = list(data_samples)
        for i, img in enumerate(imgs):
            if isinstance(img, Exception):
                j = next((k for k in good if k > i), good[0])
                imgs[i], samples[i] = imgs[j], samples[j]
        return pad_batch(imgs).to(torch.float32), samples

    def render(self, data_samples: List) -> Tuple[List[torch.Tensor], List]:
        """The views of the batch, ``(N, 3, h, w)`` float BGR levels each, and samples.

        View ``v`` of the samples is rendered per view pipeline that drew it (Mugs'
        weak / strong choice differs between samples): one batched crop and one
        photometric pass per pipeline, written back in sample order.
        """
        batch, samples = self.decode(data_samples)
        num_views = len(samples[0].view_params)
        views = []
        for v in range(num_views):
            params = [s.view_params[v] for s in samples]
            groups: Dict[int, List[int]] = {}
            for i, p in enumerate(params):
                groups.setdefault(p['pipeline'], []).append(i)
            out = None
            for sel in groups.values():
                first = params[sel[0]]
                for key in ('size', 'resize', 'ops'):
                    if any(params[i][key] != first[key] for i in sel):
                        raise ValueError(f'view {v} of one pipeline has different {key!r} '
                                         'across the batch')
                if out is not None and tuple(out.shape[2:]) != tuple(first['size']):
                    raise ValueError(f'view {v} has different sizes across the batch')
                idx = torch.tensor(sel, dtype=torch.int64)
                boxes = torch.tensor([params[i]['box'] for i in sel], dtype=torch.int64)
                flips = torch.tensor([params[i]['flip'] for i in sel], dtype=torch.bool)
                src = batch if len(sel) == len(params) else \
                    batch.index_select(0, idx.to(batch.device, non_blocking=True))
                rendered = resized_crop(src, boxes, flips, first['size'], *first['resize'])
                rendered = apply_photometric(rendered, collate_photometric(
                    first['ops'], [params[i]['photometric'] for i in sel]))
                if len(groups) == 1:
                    out = rendered
                    break
                if out is None:
                    out = rendered.new_empty((len(params), *rendered.shape[1:]))
                out.index_copy_(0, idx.to(out.device, non_blocking=True), rendered)
            views.append(out)
        return views, samples

    def forward(self, data: Dict, training: bool = False) -> Dict:
        if data.get('inputs') is None:
            views, samples = self.render(data['data_samples'])
            data = {'inputs': views, 'data_samples': samples}
        out = super().forward(data, training)
        if self.channels_last:
            out['inputs'] = [v.contiguous(memory_format=torch.channels_last)
                             for v in out['inputs']]
        return out
