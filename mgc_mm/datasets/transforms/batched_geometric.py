"""Batched crop + resize + flip on tensors: the device counterpart of the crop transforms.

Every view of a batch is a crop of its image resized to a fixed size, then maybe
flipped. Resizing is separable, so one view of the whole batch is two batched matrix
products: ``out = W_y @ img @ W_x^T`` with per-sample resampling matrices ``W``
(``(N, S, H)`` and ``(N, S, W)``) that hold the crop offset, the interpolation
weights of the CPU transform and the flip (reversed rows of ``W_x``). Images of
different sizes are zero-padded to one ``(N, 3, H_max, W_max)`` batch; the padding
has zero weight.

The weights follow the CPU transforms the configs use:

==================  ============================================================
``('cv2', mode)``   ``mmcv.imresize`` with OpenCV (``CoupledRandomResizedCrop``,
                    mmpretrain's ``RandomResizedCrop`` default backend): source
                    ``(o + 0.5) * scale - 0.5`` in float32, 2 taps (bilinear) or 4
                    (bicubic, a = -0.75), crop edge replicated, no antialiasing,
                    weights quantised to OpenCV's 11 bits.
``('pillow', mode)``  PIL's ``Image.resize`` (``backend='pillow'``, MoCo v2 /
                    DenseCL / MoCo v3 bilinear, Mugs bicubic): the triangle or
                    cubic (a = -0.5) filter stretched by the downscale factor
                    (antialiased), taps clipped to the crop and renormalised, the
                    horizontal pass rounded and clipped to uint8 before the
                    vertical one.
==================  ============================================================

Both compute in float32 and round once per pass (OpenCV rounds after integer
accumulation of its quantised weights, PIL after 22-bit fixed point), so results
differ from the CPU transform by at most one uint8 level (tested), with one
exception: Pillow 13 runs the vertical pass first for some crop shapes (by a rule
it does not document; Pillow <= 12's ``Resample.c`` always ran the horizontal one
first), and with bicubic's overshoot clipped to uint8 between the passes the order
shows at sharp edges. There a few pixels differ by more than a level (0.03 % of the
pixels of Mugs' crops of the bundled images, at most 13 levels: tested with a bound);
the filter, hence the distribution of the views, is the same.
"""
import contextlib
from typing import Sequence, Tuple

import torch

# OpenCV's INTER_RESIZE_COEF_BITS: interpolation weights of 8-bit images are
# rounded to multiples of 1 / 2048.
_CV_COEF_SCALE = 2048.0
INTERPOLATIONS = ('bilinear', 'bicubic')
BACKENDS = ('cv2', 'pillow')


@contextlib.contextmanager
def _ieee_fp32():
    """Full float32 matmuls on CUDA (TF32's 10-bit mantissa would shift roundings)."""
    if not torch.cuda.is_available():
        yield
        return
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def check_resize_mode(backend: str, interpolation: str) -> None:
    """Refuse a resize with no batched counterpart, naming it."""
    if backend not in BACKENDS:
        raise ValueError(f'resize backend {backend!r} has no batched counterpart '
                         f'(one of {BACKENDS})')
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'interpolation {interpolation!r} has no batched counterpart '
                         f'(one of {INTERPOLATIONS})')


def _cv2_taps(length: torch.Tensor, out_size: int, interpolation: str):
    """OpenCV's source indices (relative to the crop) and weights, ``(N, S, K)``."""
    scale = length.to(torch.float64).view(-1, 1) / out_size
    o = torch.arange(out_size, dtype=torch.float64, device=length.device).view(1, -1)
    src = ((o + 0.5) * scale - 0.5).to(torch.float32)  # OpenCV: (float)(...)
    sx = torch.floor(src)
    fx = src - sx
    last = (length.view(-1, 1) - 1).to(torch.float32)
    if interpolation == 'bilinear':
        # Left of the first pixel / right of the last one: that pixel, weight 1.
        low, high = sx < 0, sx >= last
        fx = torch.where(low | high, torch.zeros_like(fx), fx)
        sx = torch.where(low, torch.zeros_like(sx), torch.where(high, last, sx))
        offsets = (0, 1)
        w = torch.stack([1 - fx, fx], dim=-1)
    else:
        a = -0.75
        x0, x1, x2 = fx + 1, fx, 1 - fx
        c0 = ((a * x0 - 5 * a) * x0 + 8 * a) * x0 - 4 * a
        c1 = ((a + 2) * x1 - (a + 3)) * x1 * x1 + 1
        c2 = ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1
        offsets = (-1, 0, 1, 2)
        w = torch.stack([c0, c1, c2, 1 - c0 - c1 - c2], dim=-1)
    w = torch.round(w * _CV_COEF_SCALE) / _CV_COEF_SCALE
    idx = torch.stack([sx + k for k in offsets], dim=-1)
    idx = torch.minimum(idx.clamp(min=0), last.unsqueeze(-1))  # replicate the crop edge
    return idx.to(torch.int64), w


def _check_extent(start: torch.Tensor, length: torch.Tensor, in_size: int) -> None:
    if bool((length < 1).any()) or bool((start < 0).any()) or \
            bool((start + length > in_size).any()):
        raise ValueError(f'crop [start, start + length) outside an axis of {in_size} pixels: '
                         f'start {start.tolist()}, length {length.tolist()}')


def _pil_filter(x: torch.Tensor, interpolation: str) -> torch.Tensor:
    x = x.abs()
    if interpolation == 'bilinear':
        return (1 - x).clamp(min=0)
    a = -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return torch.where(x < 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def resize_matrix(start: torch.Tensor, length: torch.Tensor, out_size: int, in_size: int,
                  backend: str = 'cv2', interpolation: str = 'bilinear') -> torch.Tensor:
    """Per-sample matrices that crop ``[start, start + length)`` and resize to ``out_size``.

    Args:
        start (Tensor): ``(N,)`` integer crop origins along the axis, in pixels.
        length (Tensor): ``(N,)`` integer crop extents (>= 1).
        out_size (int): output extent.
        in_size (int): extent of the (padded) input axis.
        backend (str): ``'cv2'`` or ``'pillow'``, the CPU resize to follow.
        interpolation (str): ``'bilinear'`` or ``'bicubic'``.

    Returns:
        Tensor: ``(N, out_size, in_size)`` float32 weights; row ``o`` of sample ``n``
        gives output pixel ``o`` as a combination of input pixels.
    """
    check_resize_mode(backend, interpolation)
    start = torch.as_tensor(start).to(torch.int64)
    length = torch.as_tensor(length).to(torch.int64)
    if start.device.type == 'cpu':  # (on a GPU the caller checks, without a sync)
        _check_extent(start, length, in_size)
    n, dev = start.shape[0], start.device
    if backend == 'cv2':
        idx, w = _cv2_taps(length, out_size, interpolation)
        mat = torch.zeros(n, out_size, in_size, dtype=torch.float32, device=dev)
        return mat.scatter_add_(2, idx + start.view(-1, 1, 1), w)
    # PIL (Resample.c precompute_coeffs): centre (o + 0.5) * scale, support stretched by
    # max(scale, 1), taps int(centre -/+ support + 0.5) clipped to the crop, normalised.
    scale = length.to(torch.float64).view(-1, 1, 1) / out_size
    fscale = scale.clamp(min=1.0)
    support = (1.0 if interpolation == 'bilinear' else 2.0) * fscale
    o = torch.arange(out_size, dtype=torch.float64, device=dev).view(1, -1, 1)
    center = (o + 0.5) * scale
    xmin = torch.trunc(center - support + 0.5).clamp(min=0)
    xmax = torch.minimum(torch.trunc(center + support + 0.5), length.view(-1, 1, 1))
    rel = (torch.arange(in_size, dtype=torch.float64, device=dev).view(1, 1, -1)
           - start.view(-1, 1, 1))
    inside = (rel >= xmin) & (rel < xmax)
    w = torch.where(inside, _pil_filter((rel - center + 0.5) / fscale, interpolation),
                    torch.zeros((), dtype=torch.float64, device=dev))
    total = w.sum(dim=2, keepdim=True)
    w = w / torch.where(total == 0, torch.ones_like(total), total)
    return w.to(torch.float32)


def resized_crop(imgs: torch.Tensor, boxes: torch.Tensor, flips: torch.Tensor,
                 size: Tuple[int, int], backend: str = 'cv2',
                 interpolation: str = 'bilinear') -> torch.Tensor:
    """Crop ``boxes`` of a padded batch, resize each crop to ``size``, flip some.

    Equals, per sample, mmcv's ``imcrop`` + ``imresize`` (the given backend and
    interpolation) + ``imflip`` (horizontal) within one uint8 level.

    Args:
        imgs (Tensor): ``(N, C, H, W)`` uint8 or integer-valued float images, each
            zero-padded at the bottom / right to the batch's ``H x W``.
        boxes (Tensor): ``(N, 4)`` int ``(x, y, w, h)`` crops inside each image.
        flips (Tensor): ``(N,)`` bool, horizontal flip after resizing.
        size (tuple): ``(height, width)`` of the output.
        backend (str): ``'cv2'`` or ``'pillow'``.
        interpolation (str): ``'bilinear'`` or ``'bicubic'``.

    Returns:
        Tensor: ``(N, C, size[0], size[1])`` float32 with integer levels in ``[0, 255]``.
    """
    if imgs.ndim != 4:
        raise ValueError(f'expected an (N, C, H, W) batch, got {tuple(imgs.shape)}')
    n, _, hgt, wid = imgs.shape
    boxes = torch.as_tensor(boxes).to(torch.int64)
    flips = torch.as_tensor(flips).to(torch.bool)
    if boxes.shape != (n, 4) or flips.shape != (n, ):
        raise ValueError(f'expected boxes ({n}, 4) and flips ({n},), got '
                         f'{tuple(boxes.shape)} and {tuple(flips.shape)}')
    if boxes.device.type == 'cpu':  # boxes come from the CPU workers: check them there
        _check_extent(boxes[:, 0], boxes[:, 2], wid)
        _check_extent(boxes[:, 1], boxes[:, 3], hgt)
    boxes = boxes.to(imgs.device, non_blocking=True)
    flips = flips.to(imgs.device, non_blocking=True)
    out_h, out_w = int(size[0]), int(size[1])
    wy = resize_matrix(boxes[:, 1], boxes[:, 3], out_h, hgt, backend, interpolation)
    wx = resize_matrix(boxes[:, 0], boxes[:, 2], out_w, wid, backend, interpolation)
    wx = torch.where(flips.view(-1, 1, 1), wx.flip(1), wx)
    x = imgs.to(torch.float32)
    with _ieee_fp32():
        t = torch.matmul(x, wx.transpose(1, 2).unsqueeze(1))  # (N, C, H, out_w)
        if backend == 'pillow':  # PIL stores the horizontal pass as uint8
            t = torch.floor(t + 0.5).clamp_(0, 255)
        y = torch.matmul(wy.unsqueeze(1), t)  # (N, C, out_h, out_w)
    return torch.floor(y + 0.5).clamp_(0, 255)  # both round halves up


def pad_batch(imgs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack ``(C, H_i, W_i)`` images into one zero-padded ``(N, C, H_max, W_max)``."""
    if not imgs:
        raise ValueError('no images to batch')
    hgt = max(int(i.shape[1]) for i in imgs)
    wid = max(int(i.shape[2]) for i in imgs)
    out = imgs[0].new_zeros((len(imgs), imgs[0].shape[0], hgt, wid))
    for k, img in enumerate(imgs):
        out[k, :, :img.shape[1], :img.shape[2]] = img
    return out
