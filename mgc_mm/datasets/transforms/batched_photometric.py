"""Batched photometric ops on tensors: the device counterparts of the CPU transforms.

Photometric (CPU transforms and their batched device counterparts): every function
here takes a batch ``(N, 3, H, W)`` of BGR images, uint8 or float with integer values
in ``[0, 255]``, on any device, plus **per-sample parameters** as tensors, and
reproduces the per-sample CPU transform of the configs (issue 10, §1/§2):

==========================  =========================================================
batched op                  CPU transform it reproduces
==========================  =========================================================
:func:`color_jitter`        ``RandomApply([CV2ColorJitter])`` (mmpretrain's
                            ``ColorJitter`` with mmcv's cv2 ``adjust_brightness`` /
                            ``adjust_contrast`` / ``adjust_color`` and our cv2
                            :func:`~mgc_mm.datasets.transforms.processing.adjust_hue`)
:func:`grayscale`           mmcv's ``RandomGrayscale(keep_channels=True)``
:func:`gaussian_blur`       :class:`~mgc_mm.datasets.transforms.CV2GaussianBlur`
:func:`solarize`            mmpretrain's ``Solarize`` (``mmcv.solarize``)
==========================  =========================================================

None of torchvision's functional ops matches mmcv's cv2 arithmetic (torchvision's
contrast uses the float mean of a float grayscale, mmcv the rounded mean of OpenCV's
fixed-point grayscale; torchvision truncates after saturation, OpenCV rounds;
torchvision's hue works in float HSV, ours in OpenCV's 8-bit HSV with 256 hue steps),
and kornia is not a dependency, so each op is written here to follow OpenCV's / mmcv's
arithmetic step by step, including the rounding to uint8 *between* chained jitter
ops, so that the device path gives the same images, not only the same distribution.

:func:`draw_photometric_params` draws, for a view pipeline config, exactly the
random numbers the CPU pipeline draws, in the same order, from the same kinds of
generator (see its docstring), so the CPU workers can draw and the device apply.
"""
import random
from typing import Dict, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F

# OpenCV's fixed-point BGR -> gray (cvtColor COLOR_BGR2GRAY on 8U, what mmcv's
# bgr2gray returns): Y = (wB B + wG G + wR R + 2^(s-1)) >> s with 0.114 / 0.587 / 0.299
# in fixed point. OpenCV 4 uses s = 14, OpenCV 5 s = 15 (weights summing to 2^15);
# measured bit-exact against the installed cv2 in the tests.
if int(cv2.__version__.split('.')[0]) >= 5:
    _CV_GRAY_WEIGHTS, _CV_GRAY_SHIFT = (3735, 19235, 9798), 15
else:
    _CV_GRAY_WEIGHTS, _CV_GRAY_SHIFT = (1868, 9617, 4899), 14

# OpenCV's 8U HSV (color_hsv.simd.hpp): hsv_shift = 12; the full hue range is 256
# steps BGR -> HSV but 255 HSV -> BGR (``hscale = 6 / 255``), an OpenCV quirk kept here.
_HSV_SHIFT = 12
_HRANGE = 256
_HRANGE_INV = 255

JITTER_OPS = ('brightness', 'contrast', 'saturation', 'hue')


def _as_float(imgs: torch.Tensor) -> torch.Tensor:
    """Float32 working copy of a uint8 / float batch, checking the layout."""
    if imgs.ndim != 4 or imgs.shape[1] != 3:
        raise ValueError(f'expected a (N, 3, H, W) BGR batch, got {tuple(imgs.shape)}')
    return imgs.to(torch.float32)


def _restore(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Cast the (integer-valued, in-range) float result back to the input's dtype."""
    return out.to(like.dtype)


def _per_sample(x: Union[torch.Tensor, Sequence[float], float], n: int,
                device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A ``(N,)`` parameter tensor on ``device`` (scalars are broadcast)."""
    t = torch.as_tensor(x, dtype=dtype, device=device)
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape != (n, ):
        raise ValueError(f'expected {n} per-sample values, got shape {tuple(t.shape)}')
    return t


_CPU = torch.device('cpu')


def _host(x):
    """A parameter on the host (free for the CPU workers' tensors, which live there)."""
    return x.detach().cpu() if isinstance(x, torch.Tensor) else x


def _mask(apply_mask: Union[torch.Tensor, Sequence[bool]], n: int,
          device: torch.device) -> torch.Tensor:
    return _per_sample(apply_mask, n, device, torch.bool)


def cv_gray(imgs: torch.Tensor) -> torch.Tensor:
    """OpenCV's 8-bit ``BGR2GRAY`` (what ``mmcv.bgr2gray`` returns), bit-exact.

    Args:
        imgs (Tensor): ``(N, 3, H, W)`` integer-valued BGR batch (any dtype).

    Returns:
        Tensor: ``(N, 1, H, W)`` int32 gray levels.
    """
    x = imgs.to(torch.int32)
    b, g, r = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    wb, wg, wr = _CV_GRAY_WEIGHTS
    return (b * wb + g * wg + r * wr + (1 << (_CV_GRAY_SHIFT - 1))) >> _CV_GRAY_SHIFT


def _add_weighted(x: torch.Tensor, f: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``cv2.addWeighted(x, f, y, 1 - f, 0)`` as OpenCV's SIMD code computes it.

    OpenCV casts the weights to float32 and does ``fma(x, alpha, y * beta)`` with
    ``y * beta`` rounded to float32: the product ``x * alpha`` is exact (8-bit times
    24-bit mantissa) and rounded once with the sum, emulated here in float64 and
    one cast to float32 (plain float32 ``x * f + y * (1 - f)`` misses ~0.1 % of
    pixels by a level after mmcv's truncation; measured in the tests).
    """
    alpha = f.to(torch.float32).to(torch.float64).view(-1, 1, 1, 1)
    beta = (1 - f.to(torch.float64)).to(torch.float32).view(-1, 1, 1, 1)
    second = (y.to(torch.float32) * beta).to(torch.float64)
    return (x.to(torch.float64) * alpha + second).to(torch.float32)


def _adjust_brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    # mmcv (cv2): addWeighted(float32 img, f, 0, 1 - f, 0), clip, astype(uint8): truncation.
    return torch.floor(_add_weighted(x, f, torch.zeros_like(x[:, :1])).clamp(0, 255))


def _adjust_contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    # mmcv (cv2): blend with the *rounded* mean of the 8-bit gray image (round half
    # to even, as Python's round), in float32, then truncation.
    gray = cv_gray(x).to(torch.float64)
    mean = torch.round(gray.sum(dim=(1, 2, 3)) / gray[0].numel())
    deg = mean.to(torch.float32).view(-1, 1, 1, 1)
    return torch.floor(_add_weighted(x, f, deg).clamp(0, 255))


def _adjust_saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    # mmcv.adjust_color (cv2): addWeighted(uint8 img, f, uint8 gray, 1 - f, 0) whose
    # saturate_cast rounds to nearest (half to even) and saturates.
    gray = cv_gray(x).to(torch.float32)
    return torch.round(_add_weighted(x, f, gray)).clamp(0, 255)


def _bgr_to_hsv_full(x: torch.Tensor) -> torch.Tensor:
    """OpenCV's 8-bit ``BGR2HSV_FULL`` with its integer division tables."""
    xi = x.to(torch.int64)
    b, g, r = xi[:, 0], xi[:, 1], xi[:, 2]
    v = torch.maximum(torch.maximum(b, g), r)
    vmin = torch.minimum(torch.minimum(b, g), r)
    diff = v - vmin
    idx = torch.arange(256, dtype=torch.float64, device=x.device)
    # sdiv_table[i] = round((255 << 12) / i), hdiv_table[i] = round((hr << 12) / (6 i)).
    sdiv = torch.round((255 << _HSV_SHIFT) / idx.clamp(min=1)).to(torch.int64)
    hdiv = torch.round((_HRANGE << _HSV_SHIFT) / (6 * idx.clamp(min=1))).to(torch.int64)
    sdiv[0] = 0
    hdiv[0] = 0
    half = 1 << (_HSV_SHIFT - 1)
    s = (diff * sdiv[v] + half) >> _HSV_SHIFT
    vr = v == r
    vg = v == g
    h = torch.where(vr, g - b, torch.where(vg, b - r + 2 * diff, r - g + 4 * diff))
    h = (h * hdiv[diff] + half) >> _HSV_SHIFT
    h = torch.where(h < 0, h + _HRANGE, h)
    # OpenCV stores h with saturate_cast<uchar>; h == 256 cannot be stored as 256.
    h = h.clamp(0, 255)
    return torch.stack([h, s, v], dim=1)


def _hsv_full_to_bgr(hsv: torch.Tensor) -> torch.Tensor:
    """OpenCV's 8-bit ``HSV2BGR_FULL``: float32 HSV -> RGB, then rounding."""
    hsv = hsv.to(torch.float32)
    h = hsv[:, 0] * (6.0 / _HRANGE_INV)
    s = hsv[:, 1] * (1.0 / 255.0)
    v = hsv[:, 2] * (1.0 / 255.0)
    h = torch.where(h < 0, h + 6, h)
    h = torch.where(h >= 6, h - 6, h)
    sector = torch.floor(h)
    frac = h - sector
    sector = sector.to(torch.int64).clamp(0, 5)
    p = v * (1 - s)
    q = v * (1 - s * frac)
    t = v * (1 - s * (1 - frac))
    tab = torch.stack([v, p, q, t], dim=1)  # (N, 4, H, W)
    # OpenCV's sector_data: (b, g, r) indices into (v, p, q, t) per hue sector.
    sector_data = torch.tensor([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3],
                                [2, 1, 0]], device=hsv.device)
    sel = sector_data[sector].permute(0, 3, 1, 2)  # (N, 3, H, W)
    bgr = torch.gather(tab, 1, sel)
    # Zero saturation is grey in OpenCV (b = g = r = v), whatever the hue.
    bgr = torch.where((s == 0).unsqueeze(1), v.unsqueeze(1).expand_as(bgr), bgr)
    return torch.round(bgr * 255).clamp(0, 255)


def _adjust_hue(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    # Our cv2 adjust_hue: 8-bit full-range HSV, hue += round(f * 256) mod 256, back.
    # A zero shift returns the image untouched (no lossy HSV round trip).
    shift = (torch.round(f.to(torch.float64) * 256).to(torch.int64) % 256)
    hsv = _bgr_to_hsv_full(x)
    hsv[:, 0] = (hsv[:, 0] + shift.view(-1, 1, 1)) % 256
    out = _hsv_full_to_bgr(hsv)
    return torch.where((shift == 0).view(-1, 1, 1, 1), x, out)


_JITTER_FNS = (_adjust_brightness, _adjust_contrast, _adjust_saturation, _adjust_hue)
_JITTER_IDENTITY = (1.0, 1.0, 1.0, 0.0)


def color_jitter(imgs: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor,
                 saturation: torch.Tensor, hue: torch.Tensor,
                 order: torch.Tensor) -> torch.Tensor:
    """Per-sample colour jitter in a per-sample random op order (``CV2ColorJitter``).

    Op ``j`` of :data:`JITTER_OPS` is applied at step ``k`` to sample ``i`` where
    ``order[i, k] == j``, with that sample's factor; a factor equal to the identity
    (1 for brightness / contrast / saturation, 0 for hue) skips the op, as the CPU
    transform skips an op whose range is ``None`` or a sample whose ``RandomApply``
    failed. Every op rounds to uint8 as mmcv does, so chained ops match too.

    Args:
        imgs (Tensor): ``(N, 3, H, W)`` BGR, uint8 or integer-valued float.
        brightness, contrast, saturation (Tensor): ``(N,)`` factors (>= 0); pass
            them as float64 (as drawn) for bit-exactness with the CPU transform.
        hue (Tensor): ``(N,)`` hue shifts in ``[-0.5, 0.5]`` of a turn.
        order (Tensor): ``(N, 4)`` int, a permutation of ``0..3`` per sample.

    Returns:
        Tensor: the jittered batch, same dtype as ``imgs``.
    """
    x = _as_float(imgs)
    n, dev = x.shape[0], x.device
    # Planned on the host, where the CPU workers' parameters are: which samples do which
    # op at which step. The device gets index tensors (no boolean masks), so a CUDA
    # step never waits for a device-to-host copy. Factors stay float64, as drawn
    # (OpenCV derives 1 - f from the double factor).
    factors = [_per_sample(_host(v), n, _CPU, torch.float64)
               for v in (brightness, contrast, saturation, hue)]
    order = _host(order).long()
    if order.shape != (n, 4):
        raise ValueError(f'order must be (N, 4), got {tuple(order.shape)}')
    for k in range(4):
        for j, fn in enumerate(_JITTER_FNS):
            sel = torch.nonzero((order[:, k] == j) & (factors[j] != _JITTER_IDENTITY[j]))
            if sel.numel():
                # Only the samples doing op j at step k: the batch is computed once per op.
                sel = sel.flatten()
                idx = sel.to(dev, non_blocking=True)
                x.index_copy_(0, idx, fn(x.index_select(0, idx),
                                         factors[j][sel].to(dev, non_blocking=True)))
    return _restore(x, imgs)


def grayscale(imgs: torch.Tensor, apply_mask: torch.Tensor,
              channel_weights: Sequence[float] = (0.114, 0.587, 0.2989)) -> torch.Tensor:
    """mmcv's ``RandomGrayscale(keep_channels=True)`` where ``apply_mask`` is true.

    mmcv normalises the weights, sums ``w_c * img_c`` in float64 in channel order and
    truncates to uint8; the same is done here in float64 (sequential sum, as NumPy's
    3-term reduction), so the result is bit-exact.

    Args:
        imgs (Tensor): ``(N, 3, H, W)`` BGR, uint8 or integer-valued float.
        apply_mask (Tensor): ``(N,)`` bool, which samples to convert.
        channel_weights (sequence[float]): B, G, R weights (our configs' BGR order).

    Returns:
        Tensor: the batch with the selected samples grey (3 equal channels).
    """
    x = _as_float(imgs)
    m = _mask(apply_mask, x.shape[0], x.device)
    w = np.asarray(channel_weights, dtype=np.float64)
    w = w / w.sum()
    xd = x.to(torch.float64)
    g = xd[:, 0:1] * float(w[0]) + xd[:, 1:2] * float(w[1]) + xd[:, 2:3] * float(w[2])
    g = torch.floor(g).clamp(0, 255).to(torch.float32).expand_as(x)
    return _restore(torch.where(m.view(-1, 1, 1, 1), g, x), imgs)


def gaussian_kernel_size(sigma: float) -> int:
    """OpenCV's kernel size for ``GaussianBlur(ksize=(0, 0))`` on uint8 images.

    ``ksize = cvRound(sigma * 3 * 2 + 1) | 1`` (3 sigmas each side for 8U depth).
    """
    return int(np.rint(sigma * 6 + 1)) | 1


def gaussian_blur(imgs: torch.Tensor, sigma: torch.Tensor,
                  apply_mask: torch.Tensor) -> torch.Tensor:
    """``CV2GaussianBlur`` with a per-sample sigma where ``apply_mask`` is true.

    Kernel size as OpenCV's (:func:`gaussian_kernel_size`), weights
    ``exp(-x^2 / 2 sigma^2)`` normalised, reflect-101 borders (OpenCV's default);
    one separable pass as two grouped convolutions (one group per sample channel),
    every sample's kernel zero-padded to the largest size of the batch. Unblurred
    samples get a unit impulse, i.e. are copied exactly.

    Args:
        imgs (Tensor): ``(N, 3, H, W)`` BGR, uint8 or integer-valued float.
        sigma (Tensor): ``(N,)`` standard deviations in pixels (> 0 where applied).
        apply_mask (Tensor): ``(N,)`` bool.

    Returns:
        Tensor: the blurred batch, rounded to integer levels, same dtype.
    """
    x = _as_float(imgs)
    n, c, hgt, wid = x.shape
    # Kernel sizes are planned on the host (the parameters come from there): no sync.
    m = _mask(_host(apply_mask), n, _CPU)
    if not bool(m.any()):
        return imgs.clone()
    sig = _per_sample(_host(sigma), n, _CPU, torch.float64)
    sig_cpu = sig.numpy()
    m_cpu = m.numpy()
    if (sig_cpu[m_cpu] <= 0).any():
        raise ValueError('sigma must be positive where the blur is applied')
    sizes = np.where(m_cpu, [gaussian_kernel_size(s) if s > 0 else 1 for s in sig_cpu], 1)
    kmax = int(sizes.max())
    pad = kmax // 2
    if pad >= min(hgt, wid):
        raise ValueError(f'kernel of size {kmax} too large for a {hgt}x{wid} image')
    # Each sample's kernel centred in kmax taps; taps beyond its own radius are zero.
    m = m.to(x.device, non_blocking=True)
    sig = sig.to(x.device, non_blocking=True)
    pos = torch.arange(kmax, dtype=torch.float64, device=x.device) - pad
    radius = torch.as_tensor(sizes // 2).to(x.device, non_blocking=True).view(-1, 1)
    safe_sig = torch.where(m, sig, torch.ones_like(sig)).view(-1, 1)
    k = torch.exp(-pos.view(1, -1) ** 2 / (2 * safe_sig ** 2))
    k = torch.where(pos.abs().view(1, -1) <= radius, k, torch.zeros_like(k))
    k = k / k.sum(dim=1, keepdim=True)
    impulse = (pos == 0).to(torch.float64).view(1, -1).expand_as(k)
    k = torch.where(m.view(-1, 1), k, impulse).to(torch.float32)
    k = k.repeat_interleave(c, dim=0)  # (N*3, kmax): one kernel per sample channel
    y = F.pad(x.reshape(1, n * c, hgt, wid), (pad, pad, pad, pad), mode='reflect')
    y = F.conv2d(y, k.view(n * c, 1, 1, kmax), groups=n * c)
    y = F.conv2d(y, k.view(n * c, 1, kmax, 1), groups=n * c)
    y = torch.round(y.view(n, c, hgt, wid)).clamp(0, 255)
    return _restore(torch.where(m.view(-1, 1, 1, 1), y, x), imgs)


def solarize(imgs: torch.Tensor, thr: torch.Tensor, apply_mask: torch.Tensor) -> torch.Tensor:
    """mmpretrain's ``Solarize``: ``255 - x`` where ``x >= thr`` (``mmcv.solarize``).

    Args:
        imgs (Tensor): ``(N, 3, H, W)`` BGR, uint8 or float in ``[0, 255]``.
        thr (Tensor): ``(N,)`` thresholds (or a scalar).
        apply_mask (Tensor): ``(N,)`` bool.

    Returns:
        Tensor: the solarised batch, same dtype (exact).
    """
    x = _as_float(imgs)
    n = x.shape[0]
    t = _per_sample(thr, n, x.device).view(-1, 1, 1, 1)
    m = _mask(apply_mask, n, x.device).view(-1, 1, 1, 1)
    return _restore(torch.where(m & (x >= t), 255 - x, x), imgs)


# ---------------------------------------------------------------------------------
# Parameter drawing (CPU workers)
# ---------------------------------------------------------------------------------


def _jitter_range(value: Union[float, Sequence[float]], center: float,
                  bound: Sequence[float]) -> Optional[tuple]:
    """mmpretrain ``ColorJitter._set_range`` (``None`` when the op is disabled)."""
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f'jitter magnitude must be non negative, got {value}')
        value = (center - float(value), center + float(value))
    value = tuple(float(v) for v in np.clip(value, bound[0], bound[1]))
    return None if value[0] == value[1] == center else value


PHOTOMETRIC_TYPES = ('RandomApply', 'CV2ColorJitter', 'ColorJitter', 'RandomGrayscale',
                     'CV2GaussianBlur', 'Solarize', 'RandAugment', 'RandomErasing')


def _build_mmpretrain(t: dict):
    # The CPU path's own transform objects: the device path draws with their methods.
    from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS
    return MMPRETRAIN_TRANSFORMS.build(dict(t))


def parse_photometric(cfg: Sequence[dict]) -> List[tuple]:
    """The draw specs ``(kind, prob, arg)`` of a photometric view pipeline, in order.

    Raises ``ValueError`` naming the first transform with no batched counterpart.
    """
    specs = []
    for t in cfg:
        typ = t['type']
        if typ == 'RandomApply':
            inner = t['transforms']
            if len(inner) != 1 or inner[0]['type'] not in ('CV2ColorJitter', 'ColorJitter'):
                raise ValueError(f'RandomApply of {inner} is not supported')
            jit, prob = inner[0], t.get('prob', 0.5)
        elif typ in ('CV2ColorJitter', 'ColorJitter'):
            jit, prob = t, None
        else:
            jit = None
        if jit is not None:
            ranges = [_jitter_range(jit.get(k, 0.), c, b) for k, c, b in (
                ('brightness', 1, (0, float('inf'))), ('contrast', 1, (0, float('inf'))),
                ('saturation', 1, (0, float('inf'))), ('hue', 0, (-0.5, 0.5)))]
            specs.append(('color_jitter', prob, ranges))
        elif typ == 'RandomGrayscale':
            if not t.get('keep_channels', False) or t.get('color_format', 'bgr') != 'bgr':
                raise ValueError('only RandomGrayscale(keep_channels=True) on BGR')
            specs.append(('grayscale', t.get('prob', 0.1), tuple(t.get('channel_weights',
                                                                      (1., 1., 1.)))))
        elif typ == 'CV2GaussianBlur':
            specs.append(('gaussian_blur', t.get('prob', 0.5),
                          tuple(t.get('sigma_range', (0.1, 2.0)))))
        elif typ == 'Solarize':
            if t.get('thr') is None:
                raise ValueError('only Solarize with a fixed thr is supported')
            specs.append(('solarize', t.get('prob', 0.5), float(t['thr'])))
        elif typ == 'RandAugment':
            from .batched_randaugment import check_randaug
            ra = _build_mmpretrain(t)
            check_randaug(ra)
            specs.append(('randaug', None, ra))
        elif typ == 'RandomErasing':
            specs.append(('erase', None, _build_mmpretrain(t)))
        else:
            raise ValueError(f'transform {typ} has no batched counterpart')
    return specs


def identity_photometric() -> Dict:
    """The parameters of a sample that no photometric op changes."""
    return dict(jitter_apply=False, order=(0, 1, 2, 3), brightness=1., contrast=1.,
                saturation=1., hue=0., gray_apply=False, gray_weights=(1., 1., 1.),
                blur_apply=False, sigma=1., solarize_apply=False, solarize_thr=256.,
                randaug=(), erase=None)


def draw_photometric(specs: Sequence[tuple], rng=np.random, py_rng=random,
                     out: Optional[Dict] = None, size: Optional[Sequence[int]] = None) -> Dict:
    """One sample's photometric parameters for :func:`parse_photometric` specs.

    The same calls on the same generators as the CPU transforms (see
    :func:`draw_photometric_params`). Plain Python values, cheap to pickle from a
    dataloader worker; :func:`collate_photometric` batches them. ``out`` (updated in
    place) lets a caller interleave other draws between the transforms of a view.
    ``size`` (h, w) is the view's, needed by random erasing. RandAugment and random
    erasing draw with their mmpretrain objects' methods, i.e. from NumPy's global
    generator whatever ``rng`` is (as on the CPU path).
    """
    from .batched_randaugment import draw_erase, draw_randaug
    out = identity_photometric() if out is None else out
    for kind, prob, arg in specs:
        if kind == 'color_jitter':
            if prob is not None and not rng.rand() < prob:
                continue
            out['jitter_apply'] = True
            out['order'] = tuple(int(j) for j in rng.permutation(4))
            for name, r in zip(JITTER_OPS, arg):
                if r is not None:
                    out[name] = float(rng.uniform(r[0], r[1]))
        elif kind == 'grayscale':
            out['gray_weights'] = arg
            out['gray_apply'] = py_rng.random() < prob
        elif kind == 'gaussian_blur':
            if rng.rand() < prob:
                out['blur_apply'] = True
                out['sigma'] = float(rng.uniform(*arg))
        elif kind == 'solarize':
            out['solarize_thr'] = arg
            out['solarize_apply'] = bool(not rng.rand() > prob)
        elif kind == 'randaug':
            out['randaug'] = draw_randaug(arg)
        elif kind == 'erase':
            if size is None:
                raise ValueError('random erasing needs the view size to draw its patch')
            out['erase'] = draw_erase(arg, size)
    return out


_PARAM_DTYPES = dict(jitter_apply=torch.bool, order=torch.int64, brightness=torch.float64,
                     contrast=torch.float64, saturation=torch.float64, hue=torch.float64,
                     gray_apply=torch.bool, blur_apply=torch.bool, sigma=torch.float64,
                     solarize_apply=torch.bool, solarize_thr=torch.float64)


def collate_photometric(ops: Sequence[str], draws: Sequence[Dict]) -> Dict:
    """Batch per-sample draws of a pipeline with op names ``ops`` into the tensors
    :func:`apply_photometric` takes."""
    params = {k: torch.tensor([d[k] for d in draws], dtype=dt) for k, dt in _PARAM_DTYPES.items()}
    params['ops'] = tuple(ops)
    params['randaug'] = [d.get('randaug', ()) for d in draws]
    params['erase'] = [d.get('erase') for d in draws]
    params['gray_weights'] = draws[0]['gray_weights'] if draws else (1., 1., 1.)
    return params


def draw_photometric_params(cfg: List[dict], n: int,
                            rng: Optional[np.random.RandomState] = None,
                            py_rng: Optional[random.Random] = None) -> Dict:
    """Draw the photometric parameters of ``n`` samples of a view pipeline.

    ``cfg`` is a view pipeline of the configs (e.g. ``view_pipeline1`` of
    ``coco_train2017_mgc.py``): a list of ``RandomApply(transforms=[CV2ColorJitter])``
    (or a bare ``CV2ColorJitter`` / ``ColorJitter``), ``RandomGrayscale``,
    ``CV2GaussianBlur`` and ``Solarize`` dicts. For each sample, and for each
    transform in pipeline order, the same draws as the CPU transform are made, with
    the same calls on the same kind of generator:

    - ``RandomApply``: ``rng.rand() < prob``; if it passes, ``ColorJitter._rand_params``:
      ``rng.permutation(4)`` then ``rng.uniform(lo, hi)`` for each enabled op of
      brightness, contrast, saturation, hue, in that order;
    - ``RandomGrayscale``: ``py_rng.random() < prob`` (mmcv uses Python's ``random``);
    - ``CV2GaussianBlur``: ``rng.rand() < prob``, then ``rng.uniform(*sigma_range)``;
    - ``Solarize``: applied unless ``rng.rand() > prob`` (``random_disable``).

    So with ``rng = np.random.RandomState(s)`` and ``py_rng = random.Random(t)``
    the parameters are those the CPU pipeline draws, sample after sample, after
    ``np.random.seed(s)`` and ``random.seed(t)`` (the defaults ``np.random`` /
    ``random`` are those global generators themselves).

    Args:
        cfg (list[dict]): the view pipeline.
        n (int): number of samples.
        rng (np.random.RandomState, optional): NumPy generator (default: global).
        py_rng (random.Random, optional): Python generator (default: global).

    Returns:
        dict: ``ops`` (tuple of op names in pipeline order) and ``(N,)`` / ``(N, 4)``
        tensors: ``jitter_apply``, ``order``, ``brightness``, ``contrast``,
        ``saturation``, ``hue`` (identity factors where not drawn), ``gray_apply``,
        ``gray_weights`` (a tuple), ``blur_apply``, ``sigma`` (1.0 where not
        blurred), ``solarize_apply``, ``solarize_thr``.
    """
    rng = np.random if rng is None else rng
    py_rng = random if py_rng is None else py_rng
    specs = parse_photometric(cfg)
    return collate_photometric([kind for kind, _, _ in specs],
                               [draw_photometric(specs, rng, py_rng) for _ in range(n)])


def apply_photometric(imgs: torch.Tensor, params: Dict) -> torch.Tensor:
    """Apply the ops of :func:`draw_photometric_params` in pipeline order.

    Args:
        imgs (Tensor): ``(N, 3, H, W)`` BGR, uint8 or integer-valued float.
        params (dict): output of :func:`draw_photometric_params`; keep its tensors on
            the host (on a GPU, parameters on the device cost a sync per op).

    Returns:
        Tensor: the augmented batch, same dtype as ``imgs``.
    """
    # Parameters stay where they are (the host, from the CPU workers): each op moves
    # what it needs and plans kernel sizes and sample indices on the host.
    p = params
    for op in p['ops']:
        if op == 'color_jitter':
            imgs = color_jitter(imgs, p['brightness'], p['contrast'], p['saturation'],
                                p['hue'], p['order'])
        elif op == 'grayscale':
            imgs = grayscale(imgs, p['gray_apply'], p['gray_weights'])
        elif op == 'gaussian_blur':
            imgs = gaussian_blur(imgs, p['sigma'], p['blur_apply'])
        elif op == 'solarize':
            imgs = solarize(imgs, p['solarize_thr'], p['solarize_apply'])
        elif op == 'randaug':
            from .batched_randaugment import apply_randaug
            imgs = apply_randaug(imgs, p['randaug'])
        elif op == 'erase':
            from .batched_randaugment import random_erase
            imgs = random_erase(imgs, p['erase'])
    return imgs
