"""DSC configs: DenseCL's schedules, the coupled-crop pipeline, and the demo config end
to end through tools/train.py, its checkpoint loaded by the R50 benchmark config
(online and momentum branch) exactly like DenseCL's."""
import ast
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.models import ResNet
from mmpretrain.registry import DATASETS

from tests.conftest import REPO
from tests.test_tools.test_benchmarks_r50 import (MOMENTUM, ONLINE, R50, TINY, assert_equal,
                                                  build_model, expected, load_cfg, run_tool)
from tests.test_tools.test_train_densecl_mocov2 import losses, train

DSC_DIR = osp.join(REPO, 'configs', 'dsc')
DEMO = osp.join(DSC_DIR, 'dsc_resnet50_1xb8-2e_coco-demo.py')
DEMO_ROOT = osp.join(REPO, 'demo', 'data', 'coco') + '/'


def unscoped(x):
    """Config values without the `_scope_` tags that mmpretrain:: bases add."""
    if isinstance(x, dict):
        return {k: unscoped(v) for k, v in x.items() if k != '_scope_'}
    if isinstance(x, (list, tuple)):
        return [unscoped(v) for v in x]
    return x


@pytest.mark.parametrize('dsc, densecl', [
    ('dsc_resnet50_8xb32-coslr-800e_coco.py', 'densecl_resnet50_8xb32-coslr-800e_coco.py'),
    ('dsc_resnet50_8xb32-coslr-200e_in1k.py', 'densecl_resnet50_8xb32-coslr-200e_in1k.py')])
def test_configs_use_densecl_schedules(dsc, densecl):
    a = Config.fromfile(osp.join(DSC_DIR, dsc))
    b = Config.fromfile(osp.join(REPO, 'configs', 'densecl', densecl))
    for key in ('optim_wrapper', 'param_scheduler'):
        assert unscoped(a[key]) == unscoped(b[key]), key
    assert a.train_cfg == b.train_cfg and a.auto_scale_lr == b.auto_scale_lr
    assert a.train_dataloader.batch_size == b.train_dataloader.batch_size == 32
    assert a.train_dataloader.dataset.data_root == b.train_dataloader.dataset.data_root
    assert a.model.backbone == b.model.backbone
    assert a.model.momentum == b.model.momentum == 0.001
    assert (a.model.num_clusters, a.model.category_temperature) == (100, 0.2)


def test_demo_pipeline_packs_coupled_views():
    cfg = Config.fromfile(DEMO)
    cfg.train_dataloader.dataset.data_root = DEMO_ROOT
    item = DATASETS.build(cfg.train_dataloader.dataset)[0]
    assert len(item['inputs']) == 2 and all(v.shape == (3, 224, 224) for v in item['inputs'])
    sample = item['data_samples']
    assert tuple(sample.crop_boxes.shape) == (2, 4) and tuple(sample.crop_flips.shape) == (2, )


@pytest.mark.slow
def test_demo_trains_and_r50_benchmark_loads_both_branches(tmp_path):
    from mgc_mm.utils import set_pretrained
    work = tmp_path / 'work'
    train(tmp_path, DEMO, work, options=['train_cfg.max_epochs=1'])
    log, _ = losses(work)
    assert sorted(log) == [(1, 1), (1, 2)]
    for total, parts in log.values():
        assert set(parts) == {'loss_instance', 'loss_pixel', 'loss_category'}
        assert all(v > 0 for v in parts.values())
        assert total == pytest.approx(sum(parts.values()), abs=2e-4)  # log rounding
    ckpt = str(work / 'epoch_1.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    assert int(state['momentum_encoder.steps']) == 2
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    resnet = ResNet(depth=50)
    for prefix in (ONLINE, MOMENTUM):
        resnet.load_state_dict(expected(ckpt, prefix), strict=True)
    # The momentum branch moved 0.001 of the way: close to, not equal to, the online.
    assert not torch.equal(state[ONLINE + 'conv1.weight'], state[MOMENTUM + 'conv1.weight'])
    for branch, prefix in (('online', ONLINE), ('momentum', MOMENTUM)):
        cfg = load_cfg('coco-1x')
        set_pretrained(cfg, ckpt, branch, R50['coco-1x'])
        model = build_model(cfg)
        model.init_weights()  # strict: raises on any missing / unexpected key
        want = expected(ckpt, prefix)
        assert len(want) == 318
        assert_equal(model.backbone.state_dict(), want)
    # The end-to-end bar: a shrunken R50 Mask R-CNN fine-tunes from this DSC
    # checkpoint on the bundled real COCO images (through --pretrained) and prints its
    # metrics. One epoch from a 2-step pretraining: the values only need to exist.
    ft = tmp_path / 'finetune'
    det_cfg = osp.join(TINY, 'mask-rcnn_r50_fpn-syncbn-4conv1fc_demo.py')
    _, log = run_tool('train.py', det_cfg, '--work-dir', ft, '--pretrained', ckpt)
    assert 'PretrainedResNet: loaded 318 tensors' in log
    stdout, _ = run_tool('test.py', det_cfg, ft / 'epoch_1.pth', '--work-dir', tmp_path / 'test')
    result = ast.literal_eval(stdout.strip().splitlines()[-1])
    print('DSC -> Mask R-CNN:', {k: result[k] for k in ('coco/bbox_mAP', 'coco/segm_mAP')})
    for metric in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert isinstance(result[metric], float) and result[metric] >= 0


VIT = osp.join(DSC_DIR, 'dsc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')
VIT_DEMO = osp.join(DSC_DIR, 'dsc_vit-small-p16_1xb8-3e_coco-demo.py')
MGC_COCO = osp.join(REPO, 'configs', 'mgc', 'mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')


def test_vit_config_is_mgcs_backbone_schedule_and_dscs_views():
    vit, mgc = Config.fromfile(VIT), Config.fromfile(MGC_COCO)
    r50 = Config.fromfile(osp.join(DSC_DIR, 'dsc_resnet50_8xb32-coslr-800e_coco.py'))
    assert vit.model.backbone == mgc.model.backbone  # so MGC's ViT benchmarks load it
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'auto_scale_lr'):
        assert unscoped(vit[key]) == unscoped(mgc[key]), key
    assert vit.train_dataloader == r50.train_dataloader  # DSC's coupled views, batch 32
    assert vit.model.neck.in_channels == 384 and vit.model.shuffle_bn is False
    # The BN-free DenseCLNeck collapses on the ViT (README, DSC learning check).
    assert vit.model.neck.type == 'DenseCLBNNeck' and r50.model.neck.type == 'DenseCLNeck'
    # ViT target: cosine 0.996 -> 1 in mmpretrain's 1 - m convention, as MGC's.
    assert (vit.model.momentum, vit.model.end_momentum) == (mgc.model.base_momentum, 0.)
    other = {k: v for k, v in vit.model.items() if k not in ('backbone', 'neck', 'momentum',
                                                              'end_momentum', 'shuffle_bn')}
    assert other == {k: v for k, v in r50.model.items() if k in other}


@pytest.mark.slow
def test_vit_demo_trains_and_mgc_vit_benchmark_loads_both_branches(tmp_path):
    from mgc_mm.utils import set_pretrained
    from tests.test_tools.test_benchmarks import BENCH, FULL
    from tests.test_tools.test_benchmarks import build_model as build_downstream
    work = tmp_path / 'work'
    train(tmp_path, VIT_DEMO, work, options=['train_cfg.max_epochs=1'])
    log, _ = losses(work)
    assert sorted(log) == [(1, 1), (1, 2)]
    for total, parts in log.values():
        assert set(parts) == {'loss_instance', 'loss_pixel', 'loss_category'}
        assert total == pytest.approx(sum(parts.values()), abs=2e-4)  # log rounding
    ckpt = str(work / 'epoch_1.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    online = {k[9:]: v for k, v in state.items() if k.startswith('backbone.')}
    assert not torch.equal(online['layers.0.attn.qkv.weight'],
                           state['momentum_encoder.module.backbone.layers.0.attn.qkv.weight'])
    for branch, prefix in (('online', 'backbone.'),
                           ('momentum', 'momentum_encoder.module.backbone.')):
        cfg = Config.fromfile(osp.join(BENCH, FULL['mmseg']))
        set_pretrained(cfg, ckpt, branch, FULL['mmseg'])  # what --pretrained does
        model = build_downstream(cfg)
        model.backbone.init_weights()  # strict: raises on any missing / unexpected key
        want = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        got = model.backbone.state_dict()
        assert set(got) == set(want) and len(got) == 150
        for k, v in want.items():
            assert torch.equal(got[k], v), (branch, k)
