"""Batched RandAugment and random erasing: the device half of Mugs' strong views.

Mugs' strong pipeline (specs/mugs.md §1, ``coco_train2017_mugs.py``) is mmpretrain's
``RandAugment(policies='timm_increasing', num_policies=2, magnitude_level=9,
magnitude_std=0.5)`` then ``RandomErasing(mode='rand')`` on each uint8 crop. Here
each of their ops is a batched function over ``(N, 3, H, W)`` integer-valued BGR
batches with per-sample parameters, following the mmcv / OpenCV arithmetic that the
CPU transforms run:

=====================  ==============================================================
policy                 batched op (CPU function it reproduces)
=====================  ==============================================================
``AutoContrast``       :func:`auto_contrast` (``mmcv.auto_contrast``, float64 LUT,
                       truncated): exact
``Equalize``           :func:`equalize` (``mmcv.imequalize``, integer LUT): exact
``Invert``             ``255 - x`` (``mmcv.iminvert``): exact
``Posterize``          :func:`posterize` (``mmcv.posterize``): exact
``Solarize``           ``batched_photometric.solarize`` (``mmcv.solarize``): exact
``SolarizeAdd``        :func:`solarize_add` (float64 add, truncated): exact
``ColorTransform``     ``mmcv.adjust_color`` (``batched_photometric``'s)
``Contrast``           ``mmcv.adjust_contrast`` (``batched_photometric``'s)
``Brightness``         ``mmcv.adjust_brightness`` (``batched_photometric``'s)
``Sharpness``          :func:`sharpness` (``mmcv.adjust_sharpness``: cv2 ``filter2D``
                       with the 3x3 smoothing kernel, reflect-101, then a float32
                       ``addWeighted``, truncated)
``Rotate`` / ``Shear`` :func:`warp_affine` (``cv2.warpAffine`` with the matrix mmcv
/ ``Translate``        builds: OpenCV 5's float32 source coordinates, nearest or
                       bicubic, constant border)
=====================  ==============================================================

The blend ops (``ColorTransform``, ``Contrast``, ``Brightness``, ``Sharpness``) follow
OpenCV's float ``addWeighted``, whose fused multiply-add depends on the CPU's SIMD
level, so they can miss the CPU transform by one level on a few pixels (bound
tested). The warps match ``cv2.warpAffine`` bit for bit except where OpenCV's SIMD
evaluation order (fused or not, by CPU) moves a coordinate across a rounding edge
or a bicubic sum across a .5: nearest only at coordinates within 1/32 px of a tie
(e.g. 2.2 % of a 0.3 shear's pixels on an AVX-512 EPYC, whose cv2 rounds its exact-tie
columns the other way), bicubic on a fraction of a percent (both tested).

The draws (:func:`draw_randaug`, :func:`draw_erase`) call the random methods of the
very mmpretrain transform objects the CPU pipeline builds, in the order it calls
them, so the same seed gives the same ops and magnitudes; random erasing's per-pixel
noise is drawn on the device from a seed the worker draws instead (the CPU path's
NumPy noise would be pixel work on the worker): same distribution, not the same
noise.
"""
import functools
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .batched_photometric import (_add_weighted, _adjust_brightness, _adjust_contrast,
                                  _adjust_saturation, solarize)

GEOMETRIC = ('Rotate', 'Shear', 'Translate')
RANDAUG_TYPES = ('AutoContrast', 'Equalize', 'Invert', 'Posterize', 'Solarize',
                 'SolarizeAdd', 'ColorTransform', 'Contrast', 'Brightness', 'Sharpness',
                 *GEOMETRIC)
WARP_INTERPOLATIONS = ('nearest', 'bicubic')


def invert_affine(m: np.ndarray) -> np.ndarray:
    """``cv2.warpAffine``'s inversion of a forward ``(2, 3)`` matrix, in float64."""
    m = np.asarray(m, np.float64).reshape(6).copy()
    d = m[0] * m[4] - m[1] * m[3]
    d = 1. / d if d != 0 else 0.
    a11, a22 = m[4] * d, m[0] * d
    m[0], m[1], m[3], m[4] = a11, m[1] * -d, m[3] * -d, a22
    b1 = -m[0] * m[2] - m[1] * m[5]
    b2 = -m[3] * m[2] - m[4] * m[5]
    m[2], m[5] = b1, b2
    return m.reshape(2, 3)


def rotation_matrix(angle: float, hw: Tuple[int, int], center: Optional[Sequence[float]] = None,
                    scale: float = 1.0) -> np.ndarray:
    """``mmcv.imrotate``'s ``cv2.getRotationMatrix2D(center, -angle, scale)``."""
    hgt, wid = hw
    cx, cy = ((wid - 1) * 0.5, (hgt - 1) * 0.5) if center is None else center
    rad = -angle * math.pi / 180
    alpha, beta = math.cos(rad) * scale, math.sin(rad) * scale
    return np.array([[alpha, beta, (1 - alpha) * cx - beta * cy],
                     [-beta, alpha, beta * cx + (1 - alpha) * cy]], np.float64)


def shear_matrix(magnitude: float, direction: str) -> np.ndarray:
    """``mmcv.imshear``'s float32 matrix (as OpenCV reads it, in float64)."""
    m = [[1, magnitude, 0], [0, 1, 0]] if direction == 'horizontal' else \
        [[1, 0, 0], [magnitude, 1, 0]]
    return np.float32(m).astype(np.float64)


def translate_matrix(offset: float, direction: str) -> np.ndarray:
    """``mmcv.imtranslate``'s float32 matrix (as OpenCV reads it, in float64)."""
    m = [[1, 0, offset], [0, 1, 0]] if direction == 'horizontal' else \
        [[1, 0, 0], [0, 1, offset]]
    return np.float32(m).astype(np.float64)


def _source_coords(matrices: np.ndarray, hgt: int, wid: int, device: torch.device):
    """OpenCV 5's source coordinates of every output pixel, ``(N, H, W)`` float32 each.

    ``warpAffine`` inverts the matrix in double, casts it to float32 and evaluates
    ``fma(m0, x, fma(m1, y, m2))`` in float32 (measured against the installed cv2: 0
    of the pixels differ). Each fma is emulated by one float64 evaluation (the
    products of float32 and small integers are exact there) rounded to float32.
    """
    inv = np.stack([invert_affine(m) for m in matrices]).astype(np.float32)
    inv = torch.from_numpy(inv.astype(np.float64)).to(device)  # (N, 2, 3)
    xs = torch.arange(wid, dtype=torch.float64, device=device).view(1, 1, wid)
    ys = torch.arange(hgt, dtype=torch.float64, device=device).view(1, hgt, 1)
    coords = []
    for r in range(2):
        m0, m1, m2 = (inv[:, r, k].view(-1, 1, 1) for k in range(3))
        base = (m1 * ys + m2).to(torch.float32).to(torch.float64)
        coords.append((m0 * xs + base).to(torch.float32))
    return coords


def _cubic_weights(t: torch.Tensor) -> List[torch.Tensor]:
    """OpenCV's ``interpolateCubic`` (A = -0.75) in float32, for fractions ``t``."""
    a = -0.75
    x0 = t + 1
    c0 = ((a * x0 - 5 * a) * x0 + 8 * a) * x0 - 4 * a
    c1 = ((a + 2) * t - (a + 3)) * t * t + 1
    y = 1 - t
    c2 = ((a + 2) * y - (a + 3)) * y * y + 1
    return [c0, c1, c2, 1 - c0 - c1 - c2]


def warp_affine(imgs: torch.Tensor, matrices: Sequence[np.ndarray], interpolation: str,
                border_value: Sequence[float]) -> torch.Tensor:
    """``cv2.warpAffine(img, M, (W, H), flags, borderValue)`` for each sample.

    OpenCV 5's arithmetic: float32 source coordinates (:func:`_source_coords`);
    nearest rounds them half to even; bicubic takes the 4 x 4 taps around them with
    float32 weights of the exact fraction, accumulated in float32 row by row and
    rounded. A tap outside the image reads the border value. (OpenCV 4 used 10-bit
    fixed-point coordinates and a 32-step weight table instead: its bicubic results
    differ from these by up to 3 levels on a third of the pixels.)

    Args:
        imgs (Tensor): ``(N, 3, H, W)`` integer-valued BGR batch (uint8 or float).
        matrices (sequence[ndarray]): ``N`` forward ``(2, 3)`` float64 matrices, as
            given to OpenCV (:func:`rotation_matrix`, :func:`shear_matrix`,
            :func:`translate_matrix`).
        interpolation (str): ``'nearest'`` or ``'bicubic'``.
        border_value (sequence[float]): the constant border, one value per channel.

    Returns:
        Tensor: the warped batch, float32 integer levels, on ``imgs``' device.
    """
    if interpolation not in WARP_INTERPOLATIONS:
        raise ValueError(f'warp interpolation {interpolation!r} has no batched counterpart '
                         f'(one of {WARP_INTERPOLATIONS})')
    n, c, hgt, wid = imgs.shape
    dev = imgs.device
    sx, sy = _source_coords(np.asarray(matrices), hgt, wid, dev)
    cval = torch.as_tensor(list(border_value), dtype=torch.float32, device=dev)
    # Pad with the border value: taps outside the image (clamped into the pad) read it.
    p = 3
    padded = cval.view(1, c, 1, 1).expand(n, c, hgt + 2 * p, wid + 2 * p).clone()
    padded[:, :, p:-p, p:-p] = imgs.to(torch.float32)
    flat = padded.view(n, c, -1)

    def gather(iy: torch.Tensor, ix: torch.Tensor) -> torch.Tensor:
        idx = (iy.clamp(-p, hgt + p - 1) + p) * (wid + 2 * p) + (ix.clamp(-p, wid + p - 1) + p)
        return flat.gather(2, idx.view(n, 1, -1).expand(n, c, -1)).view(n, c, hgt, wid)

    if interpolation == 'nearest':
        return gather(torch.round(sy).to(torch.int64), torch.round(sx).to(torch.int64))
    fx, fy = torch.floor(sx), torch.floor(sy)
    wx = _cubic_weights(sx - fx)
    wy = _cubic_weights(sy - fy)
    ix, iy = fx.to(torch.int64) - 1, fy.to(torch.int64) - 1
    acc = torch.zeros(n, c, hgt, wid, dtype=torch.float32, device=dev)
    for i in range(4):
        for j in range(4):
            acc += gather(iy + i, ix + j) * (wy[i] * wx[j]).unsqueeze(1)
    return torch.round(acc).clamp_(0, 255)


def auto_contrast(x: torch.Tensor) -> torch.Tensor:
    """``mmcv.auto_contrast`` (cutoff 0) then uint8 truncation, per sample and channel."""
    xd = x.to(torch.float64)
    lo = xd.amin(dim=(2, 3), keepdim=True)
    hi = xd.amax(dim=(2, 3), keepdim=True)
    # A tensor numerator: ``255.0 / t`` is ``t.reciprocal() * 255`` in torch, which
    # rounds differently from NumPy's division.
    scale = torch.full_like(hi, 255.0) / torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    offset = -lo * scale
    out = torch.floor((xd * scale + offset).clamp(0, 255))
    return torch.where(hi > lo, out, xd).to(torch.float32)


def equalize(x: torch.Tensor) -> torch.Tensor:
    """``mmcv.imequalize``: per sample and channel histogram equalisation (integer LUT)."""
    n, c, hgt, wid = x.shape
    xi = x.to(torch.int64).view(n * c, -1)
    hist = torch.zeros(n * c, 256, dtype=torch.int64, device=x.device)
    hist.scatter_add_(1, xi, torch.ones_like(xi))
    last = 255 - (hist > 0).flip(1).to(torch.int8).argmax(dim=1, keepdim=True)
    step = (hgt * wid - hist.gather(1, last)) // 255  # (N*C, 1)
    lut = (hist.cumsum(1) + step // 2) // step.clamp(min=1)
    lut = torch.cat([torch.zeros_like(lut[:, :1]), lut[:, :-1]], 1).clamp(max=255)
    out = torch.where(step == 0, xi, lut.gather(1, xi))
    return out.view(n, c, hgt, wid).to(torch.float32)


def posterize(x: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """``mmcv.posterize``: keep the ``bits`` high bits (``bits`` 0 gives black)."""
    q = torch.exp2((8 - bits.to(torch.float32))).view(-1, 1, 1, 1)
    return torch.floor(x / q) * q


def solarize_add(x: torch.Tensor, magnitude: torch.Tensor, thr: torch.Tensor) -> torch.Tensor:
    """mmpretrain's ``SolarizeAdd``: ``min(x + m, 255)`` below ``thr`` (float64, truncated)."""
    xd = x.to(torch.float64)
    m = magnitude.to(torch.float64).view(-1, 1, 1, 1)
    t = thr.to(torch.float64).view(-1, 1, 1, 1)
    return torch.where(xd < t, torch.floor(torch.clamp(xd + m, max=255)), xd).to(torch.float32)


def sharpness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``mmcv.adjust_sharpness``: blend with cv2 ``filter2D`` of the 3x3 smoothing kernel.

    ``filter2D`` (reflect-101 borders) rounds ``S / 13`` with ``S`` the integer
    kernel sum, which is never a tie, so float32 gives OpenCV's rounding; the blend
    is OpenCV's float ``addWeighted`` and the result is truncated as mmcv does.
    """
    n, c, hgt, wid = x.shape
    kernel = torch.ones(3, 3, dtype=torch.float32, device=x.device)
    kernel[1, 1] = 5
    y = F.pad(x.reshape(1, n * c, hgt, wid), (1, 1, 1, 1), mode='reflect')
    s = F.conv2d(y, kernel.view(1, 1, 3, 3).expand(n * c, 1, 3, 3), groups=n * c)
    deg = torch.round(s.view(n, c, hgt, wid) / 13).clamp(0, 255)
    return torch.floor(_add_weighted(x, factor, deg).clamp(0, 255))


# ---------------------------------------------------------------------------------
# Draws (CPU workers) and the batched application (device)
# ---------------------------------------------------------------------------------


def check_randaug(ra) -> None:
    """Refuse a RandAugment whose policies have no batched counterpart, by name."""
    for t in ra.transforms:
        typ = type(t).__name__
        if typ not in RANDAUG_TYPES:
            raise ValueError(f'RandAugment policy {typ} has no batched counterpart '
                             f'(one of {RANDAUG_TYPES})')
        if typ in GEOMETRIC and t.interpolation not in WARP_INTERPOLATIONS:
            raise ValueError(f'RandAugment {typ}(interpolation={t.interpolation!r}) has no '
                             f'batched counterpart (one of {WARP_INTERPOLATIONS})')


def _static(t) -> tuple:
    """The arguments of a policy that are not drawn (hashable: grouping key)."""
    typ = type(t).__name__
    if typ == 'Rotate':
        return (tuple(np.broadcast_to(t.pad_val, 3).tolist()), t.interpolation,
                None if t.center is None else tuple(t.center), float(t.scale))
    if typ in ('Shear', 'Translate'):
        return (tuple(np.broadcast_to(t.pad_val, 3).tolist()), t.interpolation, t.direction)
    if typ == 'SolarizeAdd':
        return (float(t.thr), )
    return ()


def raw_method(obj, name: str):
    """``obj.name`` without mmcv's ``cache_randomness`` wrapper, bound to ``obj``.

    The wrapper copies itself on every attribute access (a ``copy.copy`` per draw,
    a third of a worker's time on Mugs' 14 crops); outside ``cache_random_params``
    it only calls the function, so calling the function itself draws the same.
    """
    for klass in type(obj).__mro__:
        attr = klass.__dict__.get(name)
        if attr is not None:
            func = getattr(attr, 'func', None)
            return functools.partial(func, obj) if func is not None else getattr(obj, name)
    raise AttributeError(f'{type(obj).__name__} has no {name}')


class _Policy:
    """A RandAugment policy's draw methods, unwrapped once (see :func:`raw_method`)."""

    def __init__(self, t) -> None:
        self.t, self.typ, self.static = t, type(t).__name__, _static(t)
        self.disable = raw_method(t, 'random_disable')
        self.magnitude = raw_method(t, 'random_magnitude')
        self.negative = raw_method(t, 'random_negative')


def draw_randaug(ra) -> tuple:
    """One sample's RandAugment draw: ``(type, value, static)`` per chosen policy.

    The calls of mmpretrain's ``RandAugment.transform`` and of each chosen
    policy's ``transform``, on the same objects: ``random_policy_indices``, then
    per policy ``random_disable`` and, if enabled, ``random_magnitude`` and
    ``random_negative`` where the policy draws them. A disabled policy is ``None``.
    """
    policies = ra.__dict__.get('_mgc_policies')
    if policies is None:  # unwrapped once per transform object
        policies = ra._mgc_policies = ([_Policy(t) for t in ra.transforms],
                                       raw_method(ra, 'random_policy_indices'))
    out = []
    for i in policies[1]():
        p = policies[0][i]
        t, typ = p.t, p.typ
        if p.disable():
            out.append(None)
            continue
        if typ in ('AutoContrast', 'Equalize', 'Invert'):
            value = 0.
        elif typ == 'Rotate':
            value = p.negative(t.angle if t.angle is not None else p.magnitude())
        elif typ == 'Solarize':
            value = t.thr if t.thr is not None else p.magnitude()
        elif typ == 'SolarizeAdd':
            value = t.magnitude if t.magnitude is not None else p.magnitude()
        elif typ == 'Posterize':
            value = math.ceil(t.bits if t.bits is not None else p.magnitude())
        else:  # Shear, Translate, Contrast, ColorTransform, Brightness, Sharpness
            value = p.negative(t.magnitude if t.magnitude is not None else p.magnitude())
        out.append((typ, float(value), p.static))
    return tuple(out)


def _apply_policy(x: torch.Tensor, typ: str, values: torch.Tensor, static: tuple) -> torch.Tensor:
    """One policy on a batch of the samples that drew it (``values`` on the host)."""
    dev = x.device
    if typ == 'AutoContrast':
        return auto_contrast(x)
    if typ == 'Equalize':
        return equalize(x)
    if typ == 'Invert':
        return 255 - x
    if typ == 'Posterize':
        return posterize(x, values.to(dev))
    if typ == 'Solarize':
        return solarize(x, values.to(dev), torch.ones(len(values), dtype=torch.bool, device=dev))
    if typ == 'SolarizeAdd':
        return solarize_add(x, values.to(dev), torch.full_like(values, static[0]).to(dev))
    factor = (1 + values.to(torch.float64)).to(dev)
    if typ == 'ColorTransform':
        return _adjust_saturation(x, factor)
    if typ == 'Contrast':
        return _adjust_contrast(x, factor)
    if typ == 'Brightness':
        return _adjust_brightness(x, factor)
    if typ == 'Sharpness':
        return sharpness(x, factor)
    hw = tuple(x.shape[2:])
    vals = values.tolist()
    if typ == 'Rotate':
        pad_val, interpolation, center, scale = static
        mats = [rotation_matrix(v, hw, center, scale) for v in vals]
    else:
        pad_val, interpolation, direction = static
        if typ == 'Shear':
            mats = [shear_matrix(v, direction) for v in vals]
        else:  # mmpretrain's Translate: offset = magnitude * the extent of its axis
            extent = hw[1] if direction == 'horizontal' else hw[0]
            mats = [translate_matrix(v * extent, direction) for v in vals]
    return warp_affine(x, mats, interpolation, pad_val)


def apply_randaug(imgs: torch.Tensor, draws: Sequence[tuple]) -> torch.Tensor:
    """Apply per-sample :func:`draw_randaug` draws to a batch, policy slot by slot.

    Within a slot, the samples that drew the same policy (and the same static
    arguments) are computed as one batch; the others are left as they are.
    """
    x = imgs.to(torch.float32).clone()
    dev = x.device
    slots = max((len(d) for d in draws), default=0)
    for k in range(slots):
        groups: Dict[tuple, List[int]] = {}
        for i, d in enumerate(draws):
            if k < len(d) and d[k] is not None:
                groups.setdefault((d[k][0], d[k][2]), []).append(i)
        for (typ, static), sel in groups.items():
            values = torch.tensor([draws[i][k][1] for i in sel], dtype=torch.float64)
            idx = torch.tensor(sel, dtype=torch.int64).to(dev, non_blocking=True)
            x.index_copy_(0, idx, _apply_policy(x.index_select(0, idx), typ, values, static))
    return x.to(imgs.dtype)


def draw_erase(re, size: Tuple[int, int]) -> Optional[tuple]:
    """One sample's ``RandomErasing`` draw on a view of ``size`` (h, w), or ``None``.

    ``random_disable`` then ``random_patch`` of mmpretrain's transform object; a
    ``'rand'`` patch gets a noise seed (one ``np.random.randint``) in place of the
    CPU path's per-pixel NumPy draws. Returns ``(top, left, h, w, seed, mode,
    fill_color, fill_std)``.
    """
    draws = re.__dict__.get('_mgc_draws')
    if draws is None:  # unwrapped once per transform object, as draw_randaug's
        draws = re._mgc_draws = (raw_method(re, 'random_disable'),
                                 raw_method(re, 'random_patch'))
    if draws[0]():
        return None
    top, left, h, w = draws[1](int(size[0]), int(size[1]))
    seed = int(np.random.randint(2**31 - 1)) if re.mode == 'rand' else 0
    fill_std = None if re.fill_std is None else tuple(float(v) for v in re.fill_std)
    return (int(top), int(left), int(h), int(w), seed, re.mode,
            tuple(float(v) for v in re.fill_color), fill_std)


def random_erase(imgs: torch.Tensor, draws: Sequence[Optional[tuple]],
                 noise: Optional[Sequence[Optional[np.ndarray]]] = None) -> torch.Tensor:
    """mmpretrain's ``RandomErasing`` with per-sample :func:`draw_erase` draws.

    Args:
        imgs (Tensor): ``(N, 3, H, W)`` integer-valued BGR batch.
        draws (sequence): per sample, a :func:`draw_erase` tuple or ``None``.
        noise (sequence[ndarray], optional): per sample, the ``(h, w, 3)`` standard
            draws of ``'rand'`` mode (``np.random.normal`` / ``uniform`` values as
            the CPU transform drew them: the tests' bit-exact comparison). By default
            the noise is drawn on the device from a generator seeded with the batch's
            drawn seeds, so a batch is reproducible.

    Returns:
        Tensor: the batch with the patches filled (uint8 values), same dtype.
    """
    sel = [i for i, d in enumerate(draws) if d is not None]
    if not sel:
        return imgs.clone()
    x = imgs.to(torch.float32).clone()
    c, dev = x.shape[1], x.device
    if noise is None:
        seed = 0
        for i in sel:
            seed = (seed * 1000003 + draws[i][4]) % (2**63 - 1)
        gen = torch.Generator(device=dev)
        gen.manual_seed(seed)
    for i in sel:
        top, left, h, w, _, mode, color, std = draws[i]
        color_t = torch.tensor(color, dtype=torch.float64, device=dev).view(c, 1, 1)
        if mode == 'const':
            patch = torch.floor(color_t).clamp(0, 255).expand(c, h, w)
        else:
            if noise is not None:  # (h, w, 3) values as NumPy drew them
                raw = torch.from_numpy(np.asarray(noise[i], np.float64)).permute(2, 0, 1).to(dev)
            elif std is None:  # np.random.uniform(0, 256)
                raw = torch.rand(c, h, w, generator=gen, device=dev, dtype=torch.float64) * 256
            else:  # np.random.normal(fill_color, fill_std)
                raw = torch.randn(c, h, w, generator=gen, device=dev, dtype=torch.float64)
                raw = color_t + torch.tensor(std, dtype=torch.float64, device=dev).view(c, 1, 1) * raw
            # uniform: astype(uint8) floors; normal: astype(int32) truncates, then clip.
            patch = (torch.floor(raw) if std is None else torch.trunc(raw)).clamp(0, 255)
        x[i, :, top:top + h, left:left + w] = patch.to(torch.float32)
    return x.to(imgs.dtype)
