"""Views drawn without pixels (pixel_pipeline='device'): the same draws as the CPU
transforms, the configured probabilities, exact correspondences."""
import copy
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mgc_mm.datasets.transforms import (CoupledRandomResizedCrop, DeferredMultiView,
                                        LoadImageFromFileSafe, MultiGrainCorrespondences,
                                        ViewPlan)
from tests.conftest import REPO

MGC = Config.fromfile(f'{REPO}/configs/_base_/datasets/coco_train2017_mgc.py')
MOCO = Config.fromfile(f'{REPO}/configs/_base_/datasets/coco_train2017_mocov2.py')
REAL = f'{REPO}/demo/data/coco/train2017/000000000009.jpg'


def freq_tol(p: float, n: int) -> float:
    # 4.5 binomial standard deviations: a seeded draw, so the test is deterministic; the
    # margin is what a correct sampler would exceed with probability ~1e-5.
    return 4.5 * np.sqrt(p * (1 - p) / n)


def test_draws_have_the_configured_probabilities():
    n = 4000
    np.random.seed(0)
    random.seed(0)
    moco = ViewPlan(MOCO.view_pipeline)
    views = [moco.draw((480, 640)) for _ in range(n)]
    rates = dict(jitter=np.mean([v['photometric']['jitter_apply'] for v in views]),
                 gray=np.mean([v['photometric']['gray_apply'] for v in views]),
                 blur=np.mean([v['photometric']['blur_apply'] for v in views]),
                 flip=np.mean([v['flip'] for v in views]))
    for key, p in dict(jitter=0.8, gray=0.2, blur=0.5, flip=0.5).items():
        assert abs(rates[key] - p) < freq_tol(p, n), (key, rates[key])
    # Crops: inside the image, area share in (0.2, 1) unless the sampler's centre fallback.
    areas = np.array([v['box'][2] * v['box'][3] / (480 * 640) for v in views])
    assert all(v['box'][0] + v['box'][2] <= 640 and v['box'][1] + v['box'][3] <= 480
               for v in views)
    assert ((areas >= 0.2 - 1e-2) & (areas <= 1)).mean() > 0.99
    jit = [v['photometric'] for v in views if v['photometric']['jitter_apply']]
    assert all(sorted(p['order']) == [0, 1, 2, 3] for p in jit)
    assert all(0.6 <= p['brightness'] <= 1.4 and -0.1 <= p['hue'] <= 0.1 for p in jit)
    assert views[0]['size'] == (224, 224) and views[0]['resize'] == ('pillow', 'bilinear')
    view2 = ViewPlan(MGC.view_pipeline2, crop=False)
    draws = [view2.draw((480, 640))['photometric'] for _ in range(n)]
    for key, p in dict(blur_apply=0.1, solarize_apply=0.2, gray_apply=0.2).items():
        rate = np.mean([d[key] for d in draws])
        assert abs(rate - p) < freq_tol(p, n), (key, rate)


def test_coupled_crop_draws_what_the_pixel_path_draws():
    kwargs = dict(size=224, view_pipelines=[MGC.view_pipeline1, MGC.view_pipeline2])
    cpu = CoupledRandomResizedCrop(**kwargs)
    dev = CoupledRandomResizedCrop(**kwargs, defer_pixels=True)
    corr = MultiGrainCorrespondences(grains=(16, 32, 112))
    pixels = LoadImageFromFileSafe()(dict(img_path=REAL))
    header = LoadImageFromFileSafe(decode=False)(dict(img_path=REAL))
    for seed in range(20):
        np.random.seed(seed)
        random.seed(seed)
        a = corr(cpu(copy.deepcopy(pixels)))
        np.random.seed(seed)
        random.seed(seed)
        b = corr(dev(copy.deepcopy(header)))
        assert np.array_equal(a['crop_boxes'], b['crop_boxes'])
        assert np.array_equal(a['crop_flips'], b['crop_flips'])
        # Boxes in original pixels: correspondences are exact, whatever renders the views.
        for g in (16, 32, 112):
            for k, v in a['correspondences'][g].items():
                assert torch.equal(v, b['correspondences'][g][k]), (seed, g, k)
        assert [v['box'] for v in b['view_params']] == [tuple(x) for x in a['crop_boxes']]
    # Both leave the generators in the same state: the next sample's draws agree too.
    after = []
    for t, results in ((cpu, pixels), (dev, header)):
        np.random.seed(1)
        random.seed(1)
        t(copy.deepcopy(results))
        after.append((np.random.rand(), random.random()))
    assert after[0] == after[1]


def test_deferred_multiview_keeps_multiview_order():
    t = DeferredMultiView(transforms=[MOCO.view_pipeline, [
        dict(type='RandomResizedCrop', scale=96, crop_ratio_range=(0.05, 0.3))]],
        num_views=[2, 3])
    out = t(dict(img_shape=(480, 640)))
    assert [v['pipeline'] for v in out['view_params']] == [0, 0, 1, 1, 1]
    assert [v['size'] for v in out['view_params']] == [(224, 224)] * 2 + [(96, 96)] * 3
    assert out['view_params'][2]['ops'] == ()


def test_transforms_without_device_counterpart_are_refused_by_name():
    with pytest.raises(ValueError, match='RandomCrop has no device counterpart'):
        ViewPlan([dict(type='RandomResizedCrop', scale=224),
                  dict(type='RandomCrop', crop_size=32)])
    with pytest.raises(ValueError, match='lanczos'):
        ViewPlan([dict(type='RandomResizedCrop', scale=224, backend='pillow',
                       interpolation='lanczos')])
    with pytest.raises(ValueError, match='starts with its one RandomResizedCrop'):
        ViewPlan([dict(type='RandomFlip', prob=0.5)])
    with pytest.raises(ValueError, match='photometric only'):
        CoupledRandomResizedCrop(view_pipelines=[MOCO.view_pipeline, []], defer_pixels=True)
