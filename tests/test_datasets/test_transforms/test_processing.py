import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from mmpretrain.registry import TRANSFORMS

from mgc_mm.datasets.transforms import (CoupledRandomResizedCrop, CV2ColorJitter,
                                        MultiGrainCorrespondences, adjust_hue, box_iou_xywh)
from mgc_mm.models.utils import grain_correspondences
from tests.conftest import DEMO_IMAGES

REAL = cv2.imread(osp.join(DEMO_IMAGES, '000000000009.jpg'))


@pytest.mark.parametrize('factor', [-0.5, -0.1, -0.03, 0.07, 0.1, 0.5])
def test_adjust_hue_matches_torchvision(factor):
    img = cv2.resize(REAL, (96, 64))
    ours = adjust_hue(img, factor)[..., ::-1].astype(np.float32)
    rgb = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1)
    ref = TF.adjust_hue(rgb, factor).permute(1, 2, 0).numpy().astype(np.float32)
    # uint8 HSV quantises hue to 1.4 degrees; the picture must still agree closely.
    assert np.abs(ours - ref).mean() < 2.5
    assert np.percentile(np.abs(ours - ref), 99) < 16


def test_adjust_hue_identity_and_range():
    assert adjust_hue(REAL, 0.0) is REAL
    with pytest.raises(ValueError):
        adjust_hue(REAL, 0.6)


def test_color_jitter_with_hue_runs_and_changes_colours():
    np.random.seed(0)
    jitter = CV2ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
    img = cv2.resize(REAL, (64, 64))
    outs = [jitter(dict(img=img.copy()))['img'] for _ in range(20)]
    assert all(o.dtype == np.uint8 and o.shape == img.shape for o in outs)
    assert any(np.abs(o.astype(int) - img).mean() > 1 for o in outs)


def test_coupled_crop_geometry_and_content():
    np.random.seed(3)
    t = CoupledRandomResizedCrop(size=224, min_iou=0.2, flip_prob=0.5)
    flips_seen = set()
    for _ in range(30):
        out = t(dict(img=REAL.copy()))
        boxes, flips = out['crop_boxes'], out['crop_flips']
        assert boxes.shape == (2, 4) and boxes.dtype == np.int64 and flips.shape == (2,)
        assert box_iou_xywh(boxes[0], boxes[1]) > 0.2
        H, W = REAL.shape[:2]
        for (x, y, w, h), flip, view in zip(boxes, flips, out['img']):
            assert 0 <= x and x + w <= W and 0 <= y and y + h <= H
            ref = cv2.resize(REAL[y:y + h, x:x + w], (224, 224), interpolation=cv2.INTER_LINEAR)
            if flip:
                ref = ref[:, ::-1]
            assert np.array_equal(view, ref)
            flips_seen.add(bool(flip))
    assert flips_seen == {True, False}


def test_coupled_crop_falls_back_to_view1_box():
    # IoU can never exceed 0.99 for two random crops here: fall back to b1.
    t = CoupledRandomResizedCrop(size=32, scale=(0.2, 0.3), min_iou=0.99, max_tries=5)
    b1, b2 = t.draw_boxes(REAL)
    assert b1 == b2


def test_small_image_and_view_pipelines():
    np.random.seed(0)
    tiny = cv2.resize(REAL, (20, 12))
    t = TRANSFORMS.build(dict(
        type='CoupledRandomResizedCrop', size=224,
        view_pipelines=[[dict(type='CV2GaussianBlur', prob=1.0)],
                        [dict(type='Solarize', thr=128, prob=1.0)]]))
    out = t(dict(img=tiny))
    assert [v.shape for v in out['img']] == [(224, 224, 3), (224, 224, 3)]
    # Solarize at 128 maps every value >= 128 to 255 - v, so none stays above 127.
    assert out['img'][1].max() <= 127 and out['img'][0].max() > 127


def test_correspondences_transform_equals_function():
    np.random.seed(1)
    res = CoupledRandomResizedCrop()(dict(img=REAL.copy()))
    res = MultiGrainCorrespondences()(res)
    b = torch.from_numpy(res['crop_boxes'])
    f = torch.from_numpy(res['crop_flips'])
    for g in (16, 32, 112):
        ref = grain_correspondences(b[:1], b[1:], f[:1], f[1:], g)
        for k, v in ref._asdict().items():
            assert torch.equal(res['correspondences'][g][k], v[0])
    assert res['correspondences'][112]['idx1'].shape == (2, )


def test_full_demo_pipeline_packs_everything():
    from mmengine.config import Config
    from tests.conftest import REPO
    cfg = Config.fromfile(osp.join(REPO, 'configs/mgc/mgc_vit-small-p16_1xb8-3e_coco-demo.py'))
    from mmcv.transforms import Compose
    pipe = Compose(cfg.train_dataloader.dataset.pipeline)
    out = pipe(dict(img_path=osp.join(DEMO_IMAGES, '000000000009.jpg')))
    assert len(out['inputs']) == 2 and out['inputs'][0].shape == (3, 224, 224)
    ds = out['data_samples']
    assert set(ds.correspondences) == {16, 32, 112}
    assert ds.correspondences[16]['valid'].shape == (10, )
    assert tuple(ds.crop_boxes.shape) == (2, 4)
