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


def _train(config, work_dir, *options):
    import subprocess
    import sys
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir',
           str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1', *options]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
                         env=dict(__import__('os').environ, OMP_NUM_THREADS='2'))
    assert res.returncode == 0, res.stderr[-3000:]
    return osp.join(str(work_dir), 'epoch_1.pth')


@pytest.fixture(scope='session')
def tiny_mgc_checkpoint(tmp_path_factory):
    """A checkpoint written by tools/train.py pretraining the tiny MGC config."""
    return _train(TINY_CONFIG, tmp_path_factory.mktemp('tiny_mgc'))


@pytest.fixture(scope='session')
def vit_s_mgc_checkpoint(tmp_path_factory):
    """A checkpoint of the MGC demo pretraining (ViT-S/16, 8 heads): one iteration, with
    narrower projection heads so that it is quick to write; the backbone is the real one."""
    return _train(
        osp.join(REPO, 'configs', 'mgc', 'mgc_vit-small-p16_1xb8-3e_coco-demo.py'),
        tmp_path_factory.mktemp('vit_s_mgc'),
        'model.neck.projector.hid_channels=64', 'model.neck.projector.out_channels=32',
        'model.head.predictor.in_channels=32', 'model.head.predictor.hid_channels=64',
        'model.head.predictor.out_channels=32', 'train_dataloader.dataset.indices=8',
        'train_dataloader.num_workers=0')
