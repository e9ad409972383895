"""The R50 downstream kit: every R50 benchmark config loads the ResNet-50 of a
DenseCL / MoCo v2 / MCL checkpoint exactly (online and momentum branch), MCL's full
transfer also its FPN and box-head convs, a ViT checkpoint stops in one line, and the
shrunken versions train and evaluate through tools/train.py and tools/test.py."""
import ast
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import DefaultScope
from mmengine.utils import import_modules_from_strings

from mgc_mm.models.utils.strict_init import PRETRAINED_PLACEHOLDER
from mgc_mm.utils import set_pretrained
from tests.conftest import REPO

BENCH = osp.join(REPO, 'configs', 'benchmarks')
TINY = osp.join(REPO, 'tests', 'data', 'configs')
ONLINE, MOMENTUM = 'backbone.', 'momentum_encoder.module.backbone.'

R50 = {
    'coco-1x': 'mmdetection/mask-rcnn_r50_fpn-syncbn-4conv1fc_8xb2-ms-1x_coco.py',
    'coco-2x': 'mmdetection/mask-rcnn_r50_fpn-syncbn-4conv1fc_8xb2-ms-2x_coco.py',
    'coco-full': 'mmdetection/mask-rcnn_r50_fpn-syncbn-4conv1fc_8xb2-ms-1x-full-transfer_coco.py',
    'cityscapes': 'mmdetection/mask-rcnn_r50_fpn-syncbn-4conv1fc_8xb1-8e_cityscapes.py',
    'voc-c4': 'mmdetection/faster-rcnn_r50-c4_8xb2-24k_voc0712.py',
    'voc12aug-fcn': 'mmsegmentation/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py',
    'ade20k-fcn': 'mmsegmentation/fcn_r50-d8_4xb4-80k_ade20k-512x512.py',
}


def randomised(state):
    """Random values everywhere: a loaded tensor can only have come from the file."""
    return {k: torch.randn_like(v) if v.is_floating_point() else torch.randint_like(v, 1, 99)
            for k, v in state.items()}


def save(path, state):
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def mmpretrain_checkpoint(tmp_path_factory, name):
    """The state dict of mmpretrain's own DenseCL / MoCo (v2) model: online backbone
    under `backbone.`, momentum under `encoder_k.module.0.` (smaller queue and neck)."""
    from mmpretrain.registry import MODELS
    model_cfg = get_config(f'mmpretrain::{name}').model
    model_cfg.queue_len = 16
    model_cfg.neck.hid_channels = 16
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    return save(tmp_path_factory.mktemp('ckpt') / 'ckpt.pth', randomised(model.state_dict()))


@pytest.fixture(scope='module')
def densecl_ckpt(tmp_path_factory):
    return mmpretrain_checkpoint(tmp_path_factory,
                                 'densecl/densecl_resnet50_8xb32-coslr-200e_in1k.py')


@pytest.fixture(scope='module')
def mocov2_ckpt(tmp_path_factory):
    return mmpretrain_checkpoint(tmp_path_factory,
                                 'mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py')


def mcl_state(init=False):
    """The MCL checkpoint layout (specs/mcl.md, MCL's TileRegionHead): ResNet-50 under
    `backbone.`, mmdet FPN (256 ch, BN, no activation) under `neck.`, the four convs of
    mmdet's Shared4Conv1FCBBoxHead under `region_head.shared_convs.`, an MLP under
    `region_head.mlp.`, and momentum copies of all three. Built from the real modules."""
    from mmdet.models.necks import FPN
    from mmdet.models.roi_heads.bbox_heads import Shared4Conv1FCBBoxHead
    from mmpretrain.models import ResNet
    state = {}
    for branch in ('', 'momentum_encoder.module.'):
        r50 = ResNet(depth=50)
        fpn = FPN([256, 512, 1024, 2048], 256, 5, norm_cfg=dict(type='BN'))
        with DefaultScope.overwrite_default_scope('mmdet'):
            head = Shared4Conv1FCBBoxHead(conv_out_channels=256, norm_cfg=dict(type='BN'))
        for m in (r50, fpn, head):
            if init:
                m.init_weights()
        parts = {'backbone.': r50.state_dict(), 'neck.': fpn.state_dict(),
                 'region_head.shared_convs.': head.shared_convs.state_dict(),
                 'region_head.mlp.': {'mlp.0.weight': torch.randn(2048, 256) * 0.01,
                                      'mlp.1.weight': torch.ones(2048),
                                      'mlp.3.weight': torch.randn(256, 2048) * 0.01}}
        for prefix, part in parts.items():
            part = part if init else randomised(part)
            state.update({branch + prefix + k: v for k, v in part.items()})
    return state


@pytest.fixture(scope='module')
def mcl_ckpt(tmp_path_factory):
    return save(tmp_path_factory.mktemp('ckpt') / 'mcl.pth', mcl_state())


@pytest.fixture(scope='module')
def vit_ckpt(tmp_path_factory):
    from mmpretrain.models import VisionTransformer
    vit = VisionTransformer(arch=dict(embed_dims=64, num_layers=2, num_heads=4,
                                      feedforward_channels=128), img_size=64)
    state = {p + k: v for p in (ONLINE, MOMENTUM) for k, v in vit.state_dict().items()}
    return save(tmp_path_factory.mktemp('ckpt') / 'vit.pth', state)


def load_cfg(name):
    return Config.fromfile(osp.join(BENCH, R50[name]))


def build_model(cfg):
    scope = cfg.default_scope
    import_modules_from_strings(cfg.custom_imports['imports'])
    models = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return models.build(cfg.model)


def expected(ckpt, prefix):
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    if prefix == MOMENTUM and not any(k.startswith(MOMENTUM) for k in state):
        prefix = 'encoder_k.module.0.'  # mmpretrain's MoCo / DenseCL
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def assert_equal(got, want):
    assert set(got) == set(want), (sorted(set(want) - set(got))[:5],
                                   sorted(set(got) - set(want))[:5])
    for k, v in want.items():
        assert torch.equal(got[k], v), k


CKPTS = ['densecl_ckpt', 'mocov2_ckpt', 'mcl_ckpt']
CASES = ([(name, 'densecl_ckpt', 'online') for name in R50 if name != 'coco-full']
         + [('coco-1x', c, b) for c in CKPTS for b in ('online', 'momentum')
            if (c, b) != ('densecl_ckpt', 'online')]
         + [('voc-c4', 'mocov2_ckpt', 'momentum'), ('ade20k-fcn', 'mcl_ckpt', 'momentum'),
            ('coco-full', 'mcl_ckpt', 'online')])


@pytest.mark.parametrize('name, ckpt_fixture, branch', CASES)
def test_r50_config_loads_checkpoint_exactly(name, ckpt_fixture, branch, request):
    """The whole model's init_weights (what the runner calls) leaves every backbone
    tensor equal to the checkpoint's, all keys used, for the online or momentum branch."""
    ckpt = request.getfixturevalue(ckpt_fixture)
    cfg = load_cfg(name)
    set_pretrained(cfg, ckpt, branch, R50[name])
    model = build_model(cfg)
    model.init_weights()  # strict: raises on any missing / unexpected key
    got = model.backbone.state_dict()
    if name == 'voc-c4':  # res2..res4 in the backbone, res5 in the RoI head
        got.update(model.roi_head.shared_head.state_dict())
        assert 'layer4.0.conv1.weight' not in model.backbone.state_dict()
    want = expected(ckpt, ONLINE if branch == 'online' else MOMENTUM)
    assert len(want) == 318
    assert_equal(got, want)
    if name == 'coco-full':  # MCL full transfer: FPN and the box head's convs too
        assert_equal(model.neck.state_dict(), expected(ckpt, 'neck.'))
        assert_equal(model.roi_head.bbox_head.shared_convs.state_dict(),
                     expected(ckpt, 'region_head.shared_convs.'))
        assert len(expected(ckpt, 'neck.')) == 48
    else:  # backbone only: the rest is the toolbox's own init
        state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
        for key, v in model.state_dict().items():
            if not key.startswith(('backbone.', 'roi_head.shared_head.')) and key in state:
                assert not torch.equal(v, state[key]), key


MCL_DEMO = osp.join(REPO, 'configs', 'mcl', 'mcl_resnet50-fpn_1xb8-2e_coco-demo.py')


def test_full_transfer_loads_mgc_mm_mcl_model(tmp_path):
    """The state dict of mgc_mm's own MCL model (configs/mcl) loads into the full
    transfer config exactly: backbone, FPN and the four box-head convs."""
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        mcl = MODELS.build(Config.fromfile(MCL_DEMO).model)
    ckpt = save(tmp_path / 'mcl.pth', randomised(mcl.state_dict()))
    cfg = load_cfg('coco-full')
    set_pretrained(cfg, ckpt, None, R50['coco-full'])
    model = build_model(cfg)
    model.init_weights()
    assert_equal(model.backbone.state_dict(), expected(ckpt, ONLINE))
    assert_equal(model.neck.state_dict(), expected(ckpt, 'neck.'))
    assert_equal(model.roi_head.bbox_head.shared_convs.state_dict(),
                 expected(ckpt, 'region_head.shared_convs.'))


def test_r50_backbone_matches_the_pretraining_backbone():
    """mmdet's ResNet-50 (which PretrainedResNet is) has exactly the parameter names and
    shapes of mmpretrain's, which DenseCL / MoCo v2 / MCL pretrain; mmseg's ResNetV1c
    (its FCN default) does not."""
    from mmpretrain.models import ResNet
    model = build_model(load_cfg('ade20k-fcn'))
    ours = {k: v.shape for k, v in model.backbone.state_dict().items()}
    theirs = {k: v.shape for k, v in ResNet(depth=50).state_dict().items()}
    assert ours == theirs
    assert type(model.backbone).__name__ == 'PretrainedResNet'
    # FCN-D8: res4 / res5 dilated instead of strided
    assert model.backbone.layer3[0].conv2.dilation == (2, 2)
    assert model.backbone.layer4[0].conv2.dilation == (4, 4)


@pytest.mark.parametrize('name', ['coco-1x', 'coco-full', 'voc-c4', 'voc12aug-fcn'])
def test_vit_checkpoint_stops_in_one_line(name, vit_ckpt):
    cfg = load_cfg(name)
    set_pretrained(cfg, vit_ckpt, None, R50[name])
    model = build_model(cfg)
    with pytest.raises(ValueError) as err:
        model.init_weights()
    msg = str(err.value)
    assert '\n' not in msg
    assert 'is a ViT checkpoint' in msg and 'use a ViT benchmark config' in msg


def test_config_without_pretrained_says_how():
    model = build_model(load_cfg('coco-1x'))
    with pytest.raises(ValueError, match=r"'\$\{PRETRAINED\}': pass .* --pretrained CKPT"):
        model.init_weights()


def test_pretrained_fills_every_placeholder(mcl_ckpt):
    # MCL full transfer: backbone, FPN and box head from one checkpoint
    cfg = load_cfg('coco-full')
    neck, head = cfg.model.neck.init_cfg, cfg.model.roi_head.bbox_head.init_cfg
    assert cfg.model.backbone.init_cfg.checkpoint == PRETRAINED_PLACEHOLDER
    assert neck.checkpoint == head.checkpoint == PRETRAINED_PLACEHOLDER
    set_pretrained(cfg, mcl_ckpt, None, 'full')
    for init_cfg, prefix in ((cfg.model.backbone.init_cfg, 'backbone.'),
                             (cfg.model.neck.init_cfg, 'neck.'),
                             (cfg.model.roi_head.bbox_head.init_cfg, 'region_head.')):
        assert (init_cfg.checkpoint, init_cfg.prefix) == (mcl_ckpt, prefix)
    # the momentum branch of the FPN / region head is each method's own layout: refused
    with pytest.raises(ValueError, match=r'model\.neck\.init_cfg.*backbone-only config'):
        set_pretrained(load_cfg('coco-full'), mcl_ckpt, 'momentum', 'full')
    # R50-C4: res5 in the RoI head follows the backbone, branch included
    cfg = load_cfg('voc-c4')
    set_pretrained(cfg, mcl_ckpt, 'momentum', 'c4')
    for init_cfg in (cfg.model.backbone.init_cfg, cfg.model.roi_head.shared_head.init_cfg):
        assert (init_cfg.checkpoint, init_cfg.prefix) == (mcl_ckpt, MOMENTUM)
    # backbone-only configs: only the backbone changes
    cfg = load_cfg('coco-1x')
    set_pretrained(cfg, mcl_ckpt, None, 'coco')
    assert cfg.model.backbone.init_cfg.checkpoint == mcl_ckpt
    assert 'init_cfg' not in cfg.model.neck and cfg.model.roi_head.bbox_head.get('init_cfg') is None


def test_the_r50_protocol():
    """What the papers fine-tune with: SyncBN in backbone, FPN and heads, 4conv1fc,
    640..800 multi-scale on COCO; VOC AP at IoU 0.50:0.95 (11-point, VOC2007)."""
    cfg = load_cfg('coco-1x')
    m = cfg.model
    assert m.backbone.norm_cfg.type == m.neck.norm_cfg.type == 'SyncBN'
    assert m.roi_head.bbox_head.type == 'Shared4Conv1FCBBoxHead'
    assert m.roi_head.bbox_head.norm_cfg.type == m.roi_head.mask_head.norm_cfg.type == 'SyncBN'
    assert m.backbone.frozen_stages == -1 and m.backbone.norm_eval is False
    resize = cfg.train_dataloader.dataset.pipeline[2]
    assert [s for _, s in resize.scales] == list(range(640, 801, 32))
    assert load_cfg('coco-2x').train_cfg.max_epochs == 24
    voc = load_cfg('voc-c4')
    assert voc.train_cfg.max_iters == 24000
    assert voc.param_scheduler[1].milestones == [18000, 22000]
    assert voc.val_evaluator.iou_thrs == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    assert voc.val_evaluator.eval_mode == '11points'
    for name in ('voc12aug-fcn', 'ade20k-fcn'):
        seg = load_cfg(name)
        assert seg.model.pretrained is None and seg.model.backbone.type == 'PretrainedResNet'


def run_tool(tool, *args):
    res = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *map(str, args)],
                         cwd=REPO, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-4000:]
    return res.stdout, res.stdout + res.stderr


@pytest.mark.slow
@pytest.mark.parametrize('config, ckpt_name, metrics, loads', [
    ('mask-rcnn_r50_fpn-syncbn-4conv1fc_demo.py', 'epoch_1.pth',
     ('coco/bbox_mAP', 'coco/segm_mAP'), ('PretrainedResNet: loaded 318 tensors', )),
    ('mask-rcnn_r50_fpn-syncbn-4conv1fc_full-transfer_demo.py', 'epoch_1.pth',
     ('coco/bbox_mAP', 'coco/segm_mAP'),
     ('PretrainedResNet: loaded 318 tensors', 'PretrainedFPN: loaded 48 tensors',
      'PretrainedShared4Conv1FCBBoxHead: loaded 24 tensors')),
    ('faster-rcnn_r50-c4_demo.py', 'iter_2.pth',
     ('pascal_voc/mAP', 'pascal_voc/AP50', 'pascal_voc/AP75'),
     ('PretrainedResNet: loaded 258 tensors', 'PretrainedResLayer: loaded 60 tensors')),
    ('fcn_r50-d8_demo.py', 'iter_2.pth', ('mIoU', ), ('PretrainedResNet: loaded 318 tensors', )),
])
def test_shrunken_r50_config_trains_and_evaluates(config, ckpt_name, metrics, loads, tmp_path):
    """Fine-tune the real R50 (and, full transfer, FPN and box-head convs) from a
    pretraining-layout checkpoint on the bundled COCO data, then evaluate it."""
    state = mcl_state(init=True)  # the MCL layout holds the mmpretrain one (backbone.)
    if 'full-transfer' not in config:
        state = {k: v for k, v in state.items() if k.startswith('backbone.')}
    ckpt = save(tmp_path / 'pretrained.pth', state)
    work = tmp_path / 'work'
    _, log = run_tool('train.py', osp.join(TINY, config), '--work-dir', work, '--pretrained', ckpt)
    assert log.count('no missing or unexpected keys') == len(loads)
    for line in loads:
        assert line in log
    stdout, log = run_tool('test.py', osp.join(TINY, config), work / ckpt_name, '--work-dir',
                           tmp_path / 'test')
    result = ast.literal_eval(stdout.strip().splitlines()[-1])
    print(config, {k: result[k] for k in metrics})
    for metric in metrics:
        assert isinstance(result[metric], float) and result[metric] >= 0
