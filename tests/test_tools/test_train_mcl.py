"""MCL configs: the eight-view pipeline, and the demo config end to end."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import DATASETS

from tests.conftest import REPO

TRAIN = osp.join(REPO, 'tools', 'train.py')
DEMO = osp.join(REPO, 'configs', 'mcl', 'mcl_resnet50-fpn_1xb8-2e_coco-demo.py')
DEMO_ROOT = osp.join(REPO, 'demo', 'data', 'coco') + '/'


def test_pipeline_gives_four_views_a_side():
    cfg = Config.fromfile(DEMO)
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = DEMO_ROOT
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 32
    item = ds[0]
    views = item['inputs']
    assert len(views) == 8 and all(v.shape == (3, 224, 224) for v in views)
    assert all(v.dtype == torch.uint8 for v in views)
    # four from each pipeline, in order: blur p 1.0 then p 0.1 + solarize
    mv = [t for t in ds.pipeline.transforms if type(t).__name__ == 'MultiView'][0]
    assert mv.num_views == [4, 4]
    assert len({id(p) for p in mv.transforms[:4]}) == 1
    assert len({id(p) for p in mv.transforms[4:]}) == 1
    assert mv.transforms[0] is not mv.transforms[4]
    blur = [[t for t in p.transforms if type(t).__name__ == 'CV2GaussianBlur'][0].prob
            for p in (mv.transforms[0], mv.transforms[4])]
    assert blur == [1.0, 0.1]


def test_configs_schedule():
    for name, lr, batch in [('mcl_resnet50-fpn_32xb128-amp-lars-coslr-100e_in1k.py', 16.0, 4096),
                            ('mcl_resnet50-fpn_8xb128-amp-lars-coslr-800e_coco.py', 4.0, 1024)]:
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'mcl', name))
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(16.0 * batch / 4096), name
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(lr)
        assert cfg.auto_scale_lr.base_batch_size == batch
        warm, cos = cfg.param_scheduler
        # cosine to 1e-4 at batch 4096, scaled like the lr
        assert lr * cos.eta_min_ratio == pytest.approx(1e-4 * batch / 4096), name
        assert cfg.optim_wrapper.clip_grad == dict(max_norm=500)
        assert cfg.optim_wrapper.optimizer.weight_decay == 1e-5
        assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper.optimizer.type == 'LARS'
    # The CPU demo: plain SGD at lr 0.1 (LARS scaled to batch 8 does not move the
    # weights in 120 steps), fp32, same clipping and decay.
    demo = Config.fromfile(DEMO)
    assert demo.train_cfg.max_epochs == 2 and demo.auto_scale_lr.base_batch_size == 8
    assert demo.optim_wrapper.type == 'OptimWrapper'
    assert demo.optim_wrapper.optimizer == dict(type='SGD', lr=0.1, momentum=0.9,
                                                weight_decay=1e-5)
    assert demo.optim_wrapper.clip_grad == dict(max_norm=500)


@pytest.mark.slow
def test_demo_trains_and_writes_the_layout(tmp_path):
    work = tmp_path / 'work'
    # from another cwd, with an absolute data root: 2 images a batch, 2 iterations
    res = subprocess.run(
        [sys.executable, TRAIN, DEMO, '--work-dir', str(work), '--cfg-options',
         'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=4',
         'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         f'train_dataloader.dataset.data_root={DEMO_ROOT}'],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=900,
        env=dict(os.environ, PYTHONPATH=REPO))
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert 'Epoch(train) [1][2/2]' in log
    for key in ('loss_level0', 'loss_level1', 'loss_level2', 'loss_level3', 'ema_momentum'):
        assert key in log
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file() and not glob.glob(str(work / '*.tmp*'))
    sd = torch.load(ckpt, map_location='cpu', mmap=True, weights_only=False)['state_dict']
    for key in ['backbone.conv1.weight', 'backbone.layer4.2.bn3.running_var',
                'neck.lateral_convs.0.conv.weight', 'neck.lateral_convs.3.bn.weight',
                'neck.fpn_convs.0.conv.weight', 'neck.fpn_convs.3.bn.running_mean',
                'region_head.shared_convs.0.conv.weight',
                'region_head.shared_convs.3.bn.num_batches_tracked',
                'region_head.mlp.fc0.weight', 'head.predictors.0.fc0.weight',
                'head.predictors.3.fc1.bias',
                'momentum_encoder.module.backbone.conv1.weight',
                'momentum_encoder.module.neck.fpn_convs.3.conv.weight',
                'momentum_encoder.module.region_head.shared_convs.3.conv.weight']:
        assert key in sd, key
    assert {k.split('.')[0] for k in sd} == {'backbone', 'neck', 'region_head', 'head',
                                             'momentum_encoder'}
    # trained: the online backbone moved away from the momentum copy after one step
    assert not torch.equal(sd['backbone.conv1.weight'],
                           sd['momentum_encoder.module.backbone.conv1.weight'])
