"""Batched RandAugment / random erasing vs mmpretrain's per-sample transforms (issue 10 §2).

Bounds, and why:

- LUT ops (AutoContrast, Equalize, Invert, Posterize, Solarize, SolarizeAdd) and the
  erasing fill: **exact** (the same integer / float64 arithmetic as mmcv and NumPy).
- Blends (ColorTransform, Contrast, Brightness, Sharpness): OpenCV's float
  ``addWeighted`` fuses its multiply-add or not with the CPU's SIMD level, and mmcv
  truncates the float result, so a value within one float32 rounding of an integer
  can land one level lower on one machine than on another: **<= 1 level**, on few
  pixels (< 1 %; measured 0 % here).
- Warps (Rotate, Shear, Translate): OpenCV 5's float32 coordinates (fused
  multiply-adds) and float32 bicubic sums reproduced. Nearest: exact except on the
  pixels whose source coordinate is within OpenCV's 1/32 px of a rounding edge,
  which OpenCV itself rounds either way by CPU (on an AVX-512 EPYC, 2.2 % of a 0.3
  vertical shear's pixels, all on its exact-tie columns). Bicubic: a different
  summation order moves a sum across a .5: **< 0.5 % of the pixels differ**
  (measured <= 0.007 %, one pixel by one level).
"""
import glob
import math
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmpretrain.registry import TRANSFORMS

from mgc_mm.datasets.transforms import batched_randaugment as br
from mgc_mm.datasets.transforms import decode_image
from mgc_mm.datasets.transforms.batched_photometric import (apply_photometric,
                                                            collate_photometric,
                                                            draw_photometric, parse_photometric)
from tests.conftest import DEMO_IMAGES

PAD = (104, 116, 124)


@pytest.fixture(scope='module')
def crops() -> list:
    """Six real 64 x 80 uint8 BGR crops (small: the warps gather 16 taps a pixel)."""
    files = sorted(glob.glob(osp.join(DEMO_IMAGES, '*.jpg')))[:6]
    out = []
    for k, f in enumerate(files):
        img = decode_image(open(f, 'rb').read())
        out.append(np.ascontiguousarray(img[40 + 7 * k:104 + 7 * k, 30:110]))
    # A flat channel and a constant image: AutoContrast's / Equalize's special cases.
    out[4] = out[4].copy()
    out[4][..., 1] = 77
    out[5] = np.full_like(out[5], 200)
    return out


def batch(imgs: list) -> torch.Tensor:
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()


def as_hwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(1, 2, 0).numpy()


def cpu(t: dict, img: np.ndarray) -> np.ndarray:
    return TRANSFORMS.build(dict(t, prob=1.0))(dict(img=img.copy()))['img'].astype(np.float32)


def test_cubic_weights_interpolate():
    t = torch.linspace(0, 1, 33)[:-1]
    w = torch.stack(br._cubic_weights(t))
    assert torch.allclose(w.sum(0), torch.ones(32), atol=1e-6)  # float32 rounding
    assert torch.equal(w[:, 0], torch.tensor([0., 1., 0., 0.]))  # zero offset: a copy
    # Symmetric (the taps of 1 - t are those of t reversed) and A = -0.75 at t = 1/2.
    assert torch.allclose(w[:, 1:], torch.stack(br._cubic_weights(1 - t[1:])).flip(0),
                          atol=1e-6)
    assert torch.equal(w[:, 16], torch.tensor([-0.09375, 0.59375, 0.59375, -0.09375]))


@pytest.mark.parametrize('policy', [
    dict(type='AutoContrast'), dict(type='Equalize'), dict(type='Invert'),
    dict(type='Posterize', bits=0), dict(type='Posterize', bits=1),
    dict(type='Posterize', bits=3), dict(type='Solarize', thr=100.4),
    dict(type='SolarizeAdd', magnitude=57.3), dict(type='SolarizeAdd', magnitude=110.)])
def test_lut_policies_are_exact(crops, policy):
    typ = policy['type']
    value = {'Posterize': policy.get('bits'), 'Solarize': policy.get('thr'),
             'SolarizeAdd': policy.get('magnitude')}.get(typ, 0.)
    static = (128., ) if typ == 'SolarizeAdd' else ()
    draws = [((typ, float(value), static), )] * len(crops)
    out = br.apply_randaug(batch(crops), draws)
    for k, img in enumerate(crops):
        assert np.array_equal(as_hwc(out[k]), cpu(policy, img)), (typ, k)


@pytest.mark.parametrize('typ', ['ColorTransform', 'Contrast', 'Brightness', 'Sharpness'])
@pytest.mark.parametrize('magnitude', [-0.83, 0.41, 0.9])
def test_blend_policies_within_one_level(crops, typ, magnitude):
    draws = [((typ, magnitude, ()), )] * len(crops)
    out = br.apply_randaug(batch(crops), draws)
    off = []
    for k, img in enumerate(crops):
        ref = cpu(dict(type=typ, magnitude=magnitude, random_negative_prob=0.), img)
        diff = np.abs(as_hwc(out[k]) - ref)
        assert diff.max() <= 1, (typ, k)
        off.append((diff > 0).mean())
    assert np.mean(off) < 0.01


@pytest.mark.parametrize('policy,interpolation', [
    (dict(type='Rotate', angle=23.7), 'nearest'), (dict(type='Rotate', angle=-8.2), 'bicubic'),
    (dict(type='Shear', magnitude=0.27, direction='horizontal'), 'bicubic'),
    (dict(type='Shear', magnitude=-0.19, direction='vertical'), 'bicubic'),
    (dict(type='Shear', magnitude=0.3, direction='vertical'), 'nearest'),
    (dict(type='Translate', magnitude=0.31, direction='horizontal'), 'nearest'),
    (dict(type='Translate', magnitude=-0.4, direction='vertical'), 'nearest')])
def test_warps_equal_cv2(crops, policy, interpolation, monkeypatch):
    t = TRANSFORMS.build(dict(policy, prob=1.0, random_negative_prob=0., pad_val=PAD,
                              interpolation=interpolation))
    value = policy.get('angle', policy.get('magnitude'))
    draws = [((policy['type'], value, br._static(t)), )] * len(crops)
    seen = []
    warp = br.warp_affine

    def recording(imgs, mats, *args, **kwargs):
        seen.extend(mats)
        return warp(imgs, mats, *args, **kwargs)

    monkeypatch.setattr(br, 'warp_affine', recording)
    out = br.apply_randaug(batch(crops), draws)
    assert len(seen) == len(crops)
    off, off_edge = [], []
    for k, img in enumerate(crops):
        ref = t(dict(img=img.copy()))['img'].astype(np.float32)
        wrong = (as_hwc(out[k]) != ref).any(-1)
        if interpolation == 'nearest':
            # Where the exact source coordinate is a rounding edge (x.5, e.g. every
            # 10th column of a 0.3 shear), the float32 evaluations that OpenCV picks by
            # CPU (fused or separate multiply-adds, or its fixed-point SIMD path:
            # 1/32 px) round to either neighbour. Elsewhere nearest must be exact.
            edge = near_rounding_edge(seen[k], img.shape[:2])
            assert not (wrong & ~edge).any(), (k, int((wrong & ~edge).sum()))
            off_edge.append(edge.mean())
        off.append(wrong.mean())
    # The border value shows where the warp moved the image out (a wrong sign or a
    # transposed matrix would put most pixels off). Bicubic: a summation order moves
    # a sum across a .5 on a fraction of a percent.
    bound = 0.005 if interpolation == 'bicubic' else max(0.005, float(np.mean(off_edge)))
    assert np.mean(off) <= bound, off
    assert np.max(off) < 0.05, off


def near_rounding_edge(matrix: np.ndarray, hw) -> np.ndarray:
    """Output pixels whose source coordinate (the float32 inverse OpenCV uses, in
    float64) lies within 1/32 px of a half-integer: OpenCV's fixed-point remap
    resolves 1/32 px, float32 evaluations of |coord| < 2**7 are within 1e-5."""
    inv = br.invert_affine(matrix).astype(np.float32).astype(np.float64)
    ys, xs = np.mgrid[0:hw[0], 0:hw[1]].astype(np.float64)
    edge = np.zeros(hw, bool)
    for r in range(2):
        c = inv[r, 0] * xs + inv[r, 1] * ys + inv[r, 2]
        edge |= np.abs(c - np.floor(c) - 0.5) <= 1 / 32
    return edge


def randaug_cfg(**kw) -> dict:
    return dict(type='RandAugment', policies='timm_increasing', num_policies=2,
                magnitude_level=9, magnitude_std=0.5, hparams=dict(pad_val=list(PAD)), **kw)


def test_randaugment_draws_and_renders_what_the_cpu_transform_does(crops):
    """Same seed -> same policies and magnitudes -> the same image within the bounds."""
    cfg = randaug_cfg()
    specs = parse_photometric([cfg])
    ra_cpu = TRANSFORMS.build(cfg)
    imgs, draws, refs = [], [], []
    for s in range(48):
        img = crops[s % 4]
        np.random.seed(s)
        refs.append(ra_cpu(dict(img=img.copy()))['img'].astype(np.float32))
        np.random.seed(s)
        draws.append(draw_photometric(specs, size=img.shape[:2]))
        imgs.append(img)
    params = collate_photometric(('randaug', ), draws)
    out = apply_photometric(batch(imgs), params)
    chosen = [e[0] for d in draws for e in d['randaug'] if e is not None]
    assert len(set(chosen)) >= 10  # most policies were exercised
    off = [(np.abs(as_hwc(out[k]) - refs[k]) > 1).mean() for k in range(len(imgs))]
    # A one-level blend or warp difference can be amplified by a following LUT op
    # (Posterize's bucket edge, Solarize's threshold): a few pixels, never most.
    assert np.mean(off) < 0.01, off
    assert np.max(off) < 0.05, off


def test_randaugment_policy_frequencies():
    """Each of the 15 policies is chosen w.p. 1/15 per slot and enabled w.p. 0.5.

    4000 samples x 2 slots: a count's binomial sd is ~15 (chosen) and ~11 (enabled of
    one policy); the bounds are 5 sd.
    """
    ra = TRANSFORMS.build(randaug_cfg())
    np.random.seed(0)
    counts = np.zeros(15)
    enabled = np.zeros(15)
    names = [type(t).__name__ + getattr(t, 'direction', '') for t in ra.transforms]
    for _ in range(4000):
        state = np.random.get_state()
        idx = ra.random_policy_indices()
        np.random.set_state(state)
        for i, entry in zip(idx, br.draw_randaug(ra)):
            counts[i] += 1
            enabled[i] += entry is not None
            if entry is not None:
                assert entry[0] + (entry[2][2] if entry[0] in ('Shear', 'Translate') else '') \
                    == names[i]
    assert np.all(np.abs(counts - 8000 / 15) < 5 * math.sqrt(8000 / 15 * 14 / 15))
    assert np.all(np.abs(enabled - counts / 2) < 5 * np.sqrt(counts / 4))


def erasing_cfg(**kw) -> dict:
    cfg = dict(type='RandomErasing', erase_prob=1.0, min_area_ratio=0.02,
               max_area_ratio=1 / 3, aspect_range=0.3, mode='rand',
               fill_color=[103.53, 116.28, 123.675], fill_std=[57.375, 57.12, 58.395])
    cfg.update(kw)
    return cfg


@pytest.mark.parametrize('kw', [{}, dict(fill_std=None), dict(mode='const')])
def test_random_erasing_equals_mmpretrain_given_its_noise(crops, kw):
    re = TRANSFORMS.build(erasing_cfg(**kw))
    draws, noise, refs = [], [], []
    for s, img in enumerate(crops):
        np.random.seed(s)
        refs.append(re(dict(img=img.copy()))['img'].astype(np.float32))
        np.random.seed(s)
        d = br.draw_erase(re, img.shape[:2])
        draws.append(d)
        # The noise the CPU transform drew, right after its patch.
        np.random.seed(s)
        re.random_disable()
        top, left, h, w = re.random_patch(*img.shape[:2])
        if re.mode == 'const':
            noise.append(None)
        elif re.fill_std is None:
            noise.append(np.random.uniform(0, 256, (h, w, 3)))
        else:
            noise.append(np.random.normal(re.fill_color, re.fill_std, (h, w, 3)))
        assert d[:4] == (top, left, h, w)
    out = br.random_erase(batch(crops), draws, noise)
    for k in range(len(crops)):
        assert np.array_equal(as_hwc(out[k]), refs[k]), k


def test_random_erasing_device_noise_has_the_configured_distribution(crops):
    re = TRANSFORMS.build(erasing_cfg(max_area_ratio=0.9, min_area_ratio=0.8))
    np.random.seed(0)
    draws = [br.draw_erase(re, (64, 80)) for _ in crops]
    x = batch(crops)
    out = br.random_erase(x, draws)
    assert torch.equal(out, br.random_erase(x, draws))  # seeded: reproducible
    for k, (top, left, h, w, *_) in enumerate(draws):
        patch = out[k, :, top:top + h, left:left + w].reshape(3, -1)
        keep = out[k].clone()
        keep[:, top:top + h, left:left + w] = x[k, :, top:top + h, left:left + w]
        assert torch.equal(keep, x[k])  # nothing outside the patch changed
        # Clipped normal(mean, std) per channel: the mean moves by < 8 levels under the
        # clipping at 0 / 255 (std ~57 around 104-124); > 3000 pixels: sd of the mean ~1.
        assert torch.all((patch.mean(1) - torch.tensor([103.5, 116.3, 123.7])).abs() < 10)
        assert torch.all((patch.std(1) - 55).abs() < 10)


def test_erase_probability_draws():
    """erase_prob 0.25 over 4000 draws: sd ~27 of the count, bound 5 sd."""
    re = TRANSFORMS.build(erasing_cfg(erase_prob=0.25))
    np.random.seed(1)
    hits = sum(br.draw_erase(re, (224, 224)) is not None for _ in range(4000))
    assert abs(hits - 1000) < 5 * math.sqrt(4000 * 0.25 * 0.75)


def test_unsupported_policies_are_refused_by_name():
    with pytest.raises(ValueError, match='Cutout'):
        parse_photometric([dict(type='RandAugment', num_policies=1, magnitude_level=5,
                                policies=[dict(type='Cutout', magnitude_range=(0, 40))])])
    with pytest.raises(ValueError, match="interpolation='bilinear'"):
        parse_photometric([dict(type='RandAugment', num_policies=1, magnitude_level=5,
                                policies=[dict(type='Rotate', magnitude_range=(0, 30),
                                               interpolation='bilinear')])])
