import copy
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_IMAGES = osp.join(REPO, 'demo', 'data', 'coco', 'train2017')
TINY_CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'mgc_vit-tiny_demo.py')


def tiny_mgc_cfg(reduction: str = 'mean', drop_path_rate: float = 0.) -> dict:
    """An MGC model with the real structure and a very small ViT."""
    proj = dict(type='NonLinearNeck', in_channels=64, hid_channels=96, out_channels=32,
                num_layers=3, with_bias=False, with_last_bn=True, with_last_bn_affine=False,
                with_last_bias=False, with_avg_pool=False, norm_cfg=dict(type='BN1d'))
    pred = dict(proj, in_channels=32, num_layers=2)
    return copy.deepcopy(dict(
        type='MGC',
        base_momentum=0.004,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True),
        backbone=dict(type='MoCoV3ViT', arch=dict(embed_dims=64, num_layers=2, num_heads=8,
                                                  feedforward_channels=128),
                      img_size=224, patch_size=16, drop_path_rate=drop_path_rate,
                      norm_cfg=dict(type='LN', eps=1e-6), out_type='featmap'),
        neck=dict(type='MultiGrainNeck', grains=(16, 32, 112), projector=proj),
        head=dict(type='MultiGrainContrastHead', grains=(16, 32, 112), predictor=pred,
                  loss=dict(type='InfoNCELoss', temperature=0.1, reduction=reduction))))


@pytest.fixture(scope='session', autouse=True)
def _register():
    import mgc_mm  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
