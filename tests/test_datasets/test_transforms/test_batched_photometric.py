"""Batched photometric ops vs the per-sample CPU transforms (issue 10 §2).

Bounds (measured on the bundled COCO images, 64x64):
- brightness, contrast, saturation, grayscale, solarize: **0 levels**. The batched
  ops follow OpenCV's arithmetic (fixed-point gray, float32 FMA in addWeighted) and
  round to uint8 between chained ops where mmcv does, so nothing accumulates.
- hue: **<= 1 level**, rare (BGR -> HSV is bit-exact with OpenCV's integer tables; the
  float32 HSV -> BGR step can land on the other side of a .5 when OpenCV's SIMD
  evaluates v (1 - s f) in another order). Chained jitter inherits that bound.
- Gaussian blur: **<= 1 level** on ~6 % of pixels. OpenCV's 8-bit GaussianBlur is its
  "bit-exact" fixed-point filter (kernel quantised to 2^-8 steps), ours a float
  kernel; both round once, so the two results straddle a .5 at most by one level.
"""
import glob
import os.path as osp
import random

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmpretrain.registry import TRANSFORMS

import mgc_mm.datasets.transforms  # noqa: F401  (registers the CV2 transforms)
from mgc_mm.datasets.transforms import batched_photometric as bp
from tests.conftest import DEMO_IMAGES

# The views' pipelines of configs/_base_/datasets/coco_train2017_mgc.py.
JITTER = dict(type='RandomApply', prob=0.8, transforms=[
    dict(type='CV2ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)])
GRAY = dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
            channel_weights=(0.114, 0.587, 0.2989))
VIEW1 = [JITTER, GRAY, dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0)]
VIEW2 = [JITTER, GRAY, dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
         dict(type='Solarize', thr=128, prob=0.2)]


@pytest.fixture(scope='module')
def images() -> list:
    files = sorted(glob.glob(osp.join(DEMO_IMAGES, '*.jpg')))[:8]
    assert len(files) == 8
    return [cv2.resize(mmcv.imread(f), (64, 64), interpolation=cv2.INTER_AREA) for f in files]


def to_batch(imgs: list) -> torch.Tensor:
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()


def to_list(batch: torch.Tensor) -> list:
    return list(batch.permute(0, 2, 3, 1).numpy())


def max_diff(a: list, b: list) -> int:
    return max(int(np.abs(x.astype(int) - y.astype(int)).max()) for x, y in zip(a, b))


def jitter_cpu(img: np.ndarray, order, b, c, s, h) -> np.ndarray:
    """CV2ColorJitter with its random draw replaced by the given parameters (exact)."""
    t = TRANSFORMS.build(dict(type='CV2ColorJitter', brightness=0.4, contrast=0.4,
                              saturation=0.2, hue=0.1))
    t._rand_params = lambda: (np.asarray(order), b, c, s, h)
    return t(dict(img=img.copy()))['img']


def test_cv_gray_is_opencv(images):
    rnd = np.random.RandomState(0).randint(0, 256, (1, 64, 64, 3)).astype(np.uint8)
    for img in images + list(rnd):
        ref = mmcv.bgr2gray(img)
        out = bp.cv_gray(to_batch([img]))[0, 0].numpy()
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize('op', [0, 1, 2, 3])
def test_single_jitter_op_exact(images, op):
    rng = np.random.RandomState(op)
    lo, hi = [(0.6, 1.4), (0.6, 1.4), (0.8, 1.2), (-0.1, 0.1)][op]
    n = len(images)
    for _ in range(3):
        f = rng.uniform(lo, hi, n)
        fac = [np.ones(n), np.ones(n), np.ones(n), np.zeros(n)]
        fac[op] = f
        order = np.tile(np.arange(4), (n, 1))
        ref = []
        for i, img in enumerate(images):
            args = [None] * 4
            args[op] = f[i]
            ref.append(jitter_cpu(img, order[i], *args))
        out = bp.color_jitter(to_batch(images), *[torch.from_numpy(v) for v in fac],
                              torch.from_numpy(order))
        assert max_diff(to_list(out), ref) <= (1 if op == 3 else 0)


def test_chained_jitter_random_order_exact(images):
    rng = np.random.RandomState(1)
    n = len(images)
    for _ in range(3):
        order = np.stack([rng.permutation(4) for _ in range(n)])
        b, c = rng.uniform(0.6, 1.4, n), rng.uniform(0.6, 1.4, n)
        s, h = rng.uniform(0.8, 1.2, n), rng.uniform(-0.1, 0.1, n)
        ref = [jitter_cpu(img, order[i], b[i], c[i], s[i], h[i])
               for i, img in enumerate(images)]
        out = bp.color_jitter(to_batch(images), *map(torch.from_numpy, (b, c, s, h, order)))
        assert max_diff(to_list(out), ref) <= 1  # hue's bound, see the module docstring
        # Float input in [0, 255] gives the same levels, as float.
        out_f = bp.color_jitter(to_batch(images).float(),
                                *map(torch.from_numpy, (b, c, s, h, order)))
        assert out_f.dtype == torch.float32
        assert torch.equal(out_f, out.float())


def test_jitter_identity_samples_untouched(images):
    n = len(images)
    batch = to_batch(images)
    order = torch.stack([torch.randperm(4) for _ in range(n)])
    out = bp.color_jitter(batch, torch.ones(n), torch.ones(n), torch.ones(n),
                          torch.zeros(n), order)
    assert torch.equal(out, batch)


def test_grayscale_exact(images):
    t = TRANSFORMS.build(GRAY)
    mask = np.array([True, False] * 4)
    ref = []
    for img, m in zip(images, mask):
        # Force RandomGrayscale's coin (Python random) to the given outcome.
        t._random_prob = lambda m=m: 0.0 if m else 1.0
        ref.append(t(dict(img=img.copy()))['img'])
    out = bp.grayscale(to_batch(images), torch.from_numpy(mask), GRAY['channel_weights'])
    assert max_diff(to_list(out), ref) == 0
    assert torch.equal(out[1], to_batch(images)[1])  # unselected sample unchanged
    assert torch.equal(out[0, 0], out[0, 2])  # selected sample grey


def test_gaussian_blur_within_one_level(images, monkeypatch):
    t = TRANSFORMS.build(dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0))
    rng = np.random.RandomState(2)
    sigma = rng.uniform(0.1, 2.0, len(images))
    mask = np.array([True] * 6 + [False] * 2)
    ref = []
    for img, s, m in zip(images, sigma, mask):
        # CV2GaussianBlur draws rand() < prob then uniform(sigma_range): fix both.
        monkeypatch.setattr(np.random, 'rand', lambda m=m: 0.0 if m else 1.0)
        monkeypatch.setattr(np.random, 'uniform', lambda *a, s=s: s)
        ref.append(t(dict(img=img.copy()))['img'])
    monkeypatch.undo()
    out = to_list(bp.gaussian_blur(to_batch(images), torch.from_numpy(sigma),
                                   torch.from_numpy(mask)))
    assert max_diff(out, ref) <= 1
    diff = np.stack([np.abs(a.astype(int) - b) for a, b in zip(out, ref)])
    assert (diff > 0).mean() < 0.1  # measured ~6 %: rounding ties only, not a shifted filter
    for i in (6, 7):
        np.testing.assert_array_equal(out[i], images[i])
    # Per-sample kernel size follows OpenCV's rule (round(6 sigma + 1) | 1).
    assert bp.gaussian_kernel_size(2.0) == 13 and bp.gaussian_kernel_size(0.1) == 3


def test_solarize_exact(images):
    t = TRANSFORMS.build(dict(type='Solarize', thr=128, prob=1.0))
    mask = np.array([True, True, False, True, False, True, True, False])
    ref = [t(dict(img=img.copy()))['img'] if m else img for img, m in zip(images, mask)]
    out = bp.solarize(to_batch(images), torch.full((8, ), 128.), torch.from_numpy(mask))
    assert max_diff(to_list(out), ref) == 0


# View 1 ends with the blur: hue's <= 1 then the blur's <= 1 add up to <= 2 levels.
@pytest.mark.parametrize('view, bound', [(VIEW1, 2), (VIEW2[:2] + VIEW2[3:], 1)])
def test_drawn_params_reproduce_cpu_pipeline(images, view, bound):
    """Seeded draws are the CPU pipeline's own draws: same images, end to end."""
    np.random.seed(123)
    random.seed(456)
    pipeline = Compose([TRANSFORMS.build(t) for t in view])
    ref = [pipeline(dict(img=img.copy()))['img'] for img in images]
    params = bp.draw_photometric_params(view, len(images), np.random.RandomState(123),
                                        random.Random(456))
    out = bp.apply_photometric(to_batch(images), params)
    assert max_diff(to_list(out), ref) <= bound
    diff = np.stack([np.abs(a.astype(int) - b) for a, b in zip(to_list(out), ref)])
    assert (diff > 0).mean() < 0.1  # near-ties only; wrong draws would differ everywhere


def test_draw_frequencies():
    n = 4000
    p = bp.draw_photometric_params(VIEW2, n, np.random.RandomState(0), random.Random(0))
    assert p['ops'] == ('color_jitter', 'grayscale', 'gaussian_blur', 'solarize')
    # Binomial: |freq - prob| < 4.5 * sqrt(prob (1 - prob) / n), a false alarm ~7e-6.
    for key, prob in [('jitter_apply', 0.8), ('gray_apply', 0.2), ('blur_apply', 0.1),
                      ('solarize_apply', 0.2)]:
        freq = p[key].double().mean().item()
        assert abs(freq - prob) < 4.5 * np.sqrt(prob * (1 - prob) / n), (key, freq)
    on = p['jitter_apply']
    for key, lo, hi in [('brightness', 0.6, 1.4), ('contrast', 0.6, 1.4),
                        ('saturation', 0.8, 1.2), ('hue', -0.1, 0.1)]:
        v = p[key][on]
        assert v.min() >= lo and v.max() <= hi
        # Uniform mean within 4.5 standard errors ((hi - lo) / sqrt(12 m)).
        assert abs(v.mean() - (lo + hi) / 2) < 4.5 * (hi - lo) / np.sqrt(12 * len(v))
        ident = 0.0 if key == 'hue' else 1.0
        assert (p[key][~on] == ident).all()
    assert (p['order'].sort(dim=1).values == torch.arange(4)).all()
    # Every position holds each op about a quarter of the time (random order).
    first = torch.bincount(p['order'][on, 0], minlength=4).double() / on.sum()
    m = int(on.sum())
    assert ((first - 0.25).abs() < 4.5 * np.sqrt(0.25 * 0.75 / m)).all()
    s = p['sigma'][p['blur_apply']]
    assert s.min() >= 0.1 and s.max() <= 2.0
    assert (p['solarize_thr'] == 128).all()


def test_rejects_unsupported():
    with pytest.raises(ValueError):
        bp.draw_photometric_params([dict(type='Posterize', bits=4)], 2)
    with pytest.raises(ValueError):
        bp.color_jitter(torch.zeros(2, 3, 8, 8), torch.ones(2), torch.ones(2),
                        torch.ones(2), torch.zeros(2), torch.zeros(2, 3))
