"""MoCo v3 checkpoints in the ViT benchmark configs: the ``*_mocov3-vit-s16_*`` variants
(12 heads) load a MoCo v3 ViT-S/16 checkpoint strictly and exactly in every family
(Mask R-CNN, Semantic FPN, UperNet, ViTPose), differ from their MGC twins (8 heads) only
in the backbone, and ``MGCViT`` refuses a checkpoint whose stored config has another
head count, which the weights alone cannot show."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.models.utils import build_2d_sincos_position_embedding, resize_pos_embed
from mmpretrain.registry import MODELS

import mgc_mm.models.backbones.mgc_vit as mgc_vit_module
import mgc_mm.models.utils.pretrained as pretrained_module
from mgc_mm.models.utils import load_state_strict, select_prefix
from mgc_mm.utils import extract_backbone, set_pretrained
from tests.conftest import REPO
from tests.test_tools.test_benchmarks import build_model

BENCH = osp.join(REPO, 'configs', 'benchmarks')
MOCOV3_COCO = osp.join(REPO, 'configs', 'mocov3',
                       'mocov3_vit-small-p16_8xb32-amp-coslr-800e_coco.py')
MGC_COCO = osp.join(REPO, 'configs', 'mgc', 'mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')
VARIANTS = {
    'mmdet': 'mmdetection/mask-rcnn_mocov3-vit-s16_fpn_8xb2-ms-1x_coco.py',
    'mmdet-lrd': 'mmdetection/mask-rcnn_mocov3-vit-s16_fpn_8xb2-ms-1x-lrd_coco.py',
    'mmdet-cityscapes': 'mmdetection/mask-rcnn_mocov3-vit-s16_fpn_8xb1-8e_cityscapes.py',
    'mmseg': 'mmsegmentation/fpn_mocov3-vit-s16_8xb2-40k_ade20k-512x512.py',
    'mmseg-voc': 'mmsegmentation/fpn_mocov3-vit-s16_8xb2-40k_voc12aug-512x512.py',
    'mmseg-upernet': 'mmsegmentation/upernet_mocov3-vit-s16_8xb2-160k_ade20k-512x512.py',
    'mmpose': 'mmpose/td-hm_mocov3-vit-s16_8xb64-210e_coco-256x192.py',
}


def twin(name):
    return VARIANTS[name].replace('mocov3-vit-s16', 'mgc-vit-s16')


@pytest.fixture(scope='module')
def mocov3_checkpoint(tmp_path_factory):
    """A MoCo v3 ViT-S/16 checkpoint as tools/train.py writes it from the COCO config:
    the whole model (backbone, projector, predictor, key encoder) at the real shapes,
    with the runner's ``meta['cfg']``. The key encoder is moved off the online one, as
    training does."""
    cfg = Config.fromfile(MOCOV3_COCO)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    online = torch.nn.Sequential(model.backbone, model.neck)
    model.momentum_encoder.update_parameters(online)  # the first update copies
    with torch.no_grad():
        for name, p in model.momentum_encoder.module.named_parameters():
            if name != '0.pos_embed':  # fixed: the same in both branches
                p.add_(0.01 * torch.randn_like(p))
    state = model.state_dict()
    assert torch.equal(state['backbone.pos_embed'],
                       build_2d_sincos_position_embedding((14, 14), 384, cls_token=True))
    path = str(tmp_path_factory.mktemp('mocov3') / 'mocov3_vit-s16.pth')
    torch.save(dict(state_dict=state, meta=dict(cfg=cfg.pretty_text, epoch=800)), path)
    return path, state


@pytest.fixture(scope='module')
def backbones_checkpoint(mocov3_checkpoint, tmp_path_factory):
    """The same checkpoint with only the two ViTs (online and key) and ``meta``: a third
    of the file, for the head-count checks, which do not depend on the heads' tensors."""
    path, state = mocov3_checkpoint
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    state = {k: v for k, v in state.items()
             if k.startswith(('backbone.', 'momentum_encoder.module.0.'))}
    small = str(tmp_path_factory.mktemp('mocov3_small') / 'mocov3_vit-s16_backbones.pth')
    torch.save(dict(state_dict=state, meta=ckpt['meta']), small)
    return small, state


def backbone_of(state, prefix='backbone.'):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


class LogRecorder:
    def __init__(self, monkeypatch):
        self.messages = []
        # The backbone's messages and those of the shared strict helpers (momentum alias).
        for module in (mgc_vit_module, pretrained_module):
            monkeypatch.setattr(module, 'print_log',
                                lambda msg, *a, **k: self.messages.append(str(msg)))


@pytest.mark.slow  # builds a detector, two segmentors and a pose model at ViT-S size
# One config per family; the other variants share its backbone (next test).
@pytest.mark.parametrize('name', ['mmdet', 'mmseg', 'mmseg-upernet', 'mmpose'])
def test_variant_loads_mocov3_checkpoint_exactly(name, mocov3_checkpoint, monkeypatch):
    path, state = mocov3_checkpoint
    cfg = Config.fromfile(osp.join(BENCH, VARIANTS[name]))
    set_pretrained(cfg, path, None, VARIANTS[name])  # what --pretrained does
    model = build_model(cfg)
    log = LogRecorder(monkeypatch)
    model.backbone.init_weights()  # strict: raises on any missing / unexpected key
    expected = backbone_of(state)
    got = model.backbone.state_dict()
    if not model.backbone.with_cls_token:  # ViTPose: class token and its position dropped
        expected.pop('cls_token')
        expected['pos_embed'] = resize_pos_embed(expected['pos_embed'][:, 1:], (14, 14),
                                                 model.backbone.patch_resolution, 'bicubic', 0)
        assert any("not loading ['cls_token', 'pos_embed[:, 0] (class-token position)']" in m
                   for m in log.messages), log.messages
    # 12 blocks x 12 tensors + patch projection (2) + cls token + pos_embed + final norm (2)
    assert set(got) == set(expected) and len(got) == 150 - (not model.backbone.with_cls_token)
    for k, v in expected.items():
        assert torch.equal(got[k], v), k  # sin-cos pos_embed and frozen conv1 included
    assert model.backbone.arch_settings['num_heads'] == 12
    assert not any('not verified' in m for m in log.messages)


# --pretrained-branch momentum: MoCo v3 keeps its key encoder as mmpretrain's
# EMA(Sequential(backbone, neck)), `momentum_encoder.module.0.`, not under the prefix the
# flag sets; MGCViT finds it as the ResNet loaders find `encoder_k.module.0.`.
@pytest.mark.parametrize('name', ['mmdet', 'mmpose'])
def test_variant_loads_mocov3_momentum_branch(name, mocov3_checkpoint, monkeypatch):
    path, state = mocov3_checkpoint
    cfg = Config.fromfile(osp.join(BENCH, VARIANTS[name]))
    set_pretrained(cfg, path, 'momentum', VARIANTS[name])
    assert cfg.model.backbone.init_cfg.prefix == 'momentum_encoder.module.backbone.'
    backbone = MODELS.build(copy.deepcopy(cfg.model.backbone))
    log = LogRecorder(monkeypatch)
    backbone.init_weights()
    expected = backbone_of(state, 'momentum_encoder.module.0.')
    assert not torch.equal(expected['layers.0.attn.qkv.weight'],
                           state['backbone.layers.0.attn.qkv.weight'])
    if not backbone.with_cls_token:
        expected.pop('cls_token')
        expected['pos_embed'] = resize_pos_embed(expected['pos_embed'][:, 1:], (14, 14),
                                                 backbone.patch_resolution, 'bicubic', 0)
    got = backbone.state_dict()
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert torch.equal(got[k], v), k
    assert any("checkpoint is under 'momentum_encoder.module.0.'" in m for m in log.messages)
    assert any("(prefix 'momentum_encoder.module.0.'), no missing or unexpected keys" in m
               for m in log.messages), log.messages


@pytest.mark.parametrize('name', list(VARIANTS))
def test_variant_is_its_mgc_twin_with_twelve_heads(name):
    """The backbone's head count and default checkpoint changed, nothing else."""
    mgc = Config.fromfile(osp.join(BENCH, twin(name))).to_dict()
    ours = Config.fromfile(osp.join(BENCH, VARIANTS[name])).to_dict()
    assert ours['model']['backbone']['arch'] == dict(mgc['model']['backbone']['arch'],
                                                     num_heads=12)
    assert mgc['model']['backbone']['arch']['num_heads'] == 8
    for cfg_dict in (ours, mgc):
        cfg_dict['model']['backbone'].pop('arch')
        cfg_dict['model']['backbone']['init_cfg'].pop('checkpoint')
        cfg_dict.pop('mocov3_vit_s16', None)
    assert ours == mgc


@pytest.fixture(scope='module')
def vits():
    """The backbones of the Mask R-CNN configs, built once: 8 heads (MGC) and 12 (MoCo v3)."""
    def build(config):
        return MODELS.build(copy.deepcopy(Config.fromfile(osp.join(BENCH, config)).model.backbone))
    return {8: build(twin('mmdet')), 12: build(VARIANTS['mmdet'])}


def test_eight_head_config_refuses_a_twelve_head_checkpoint(backbones_checkpoint, vits):
    path, state = backbones_checkpoint
    sub = backbone_of(state)
    # What the check is for: the 12-head weights fit the 8-head model exactly...
    assert {k: v.shape for k, v in sub.items()} == {
        k: v.shape for k, v in vits[8].state_dict().items()}
    load_state_strict(vits[8], sub, 'no check')  # ...and would load silently.
    with pytest.raises(ValueError, match=r'num_heads=12 .*this backbone has num_heads=8'):
        vits[8].load_pretrained(path)
    # With the head count from the config, it loads.
    vits[12].load_pretrained(path)


def test_twelve_head_config_refuses_an_mgc_checkpoint(backbones_checkpoint, vits, tmp_path):
    """An MGC checkpoint (8 heads, its own arch dict in meta['cfg']) at the same shapes."""
    _, state = backbones_checkpoint
    mgc_path = str(tmp_path / 'mgc.pth')
    torch.save(dict(state_dict=state, meta=dict(cfg=Config.fromfile(MGC_COCO).pretty_text)),
               mgc_path)
    with pytest.raises(ValueError, match=r'num_heads=8 .*this backbone has num_heads=12'):
        vits[12].load_pretrained(mgc_path)
    vits[8].load_pretrained(mgc_path)


def test_extracted_momentum_backbone_keeps_the_check(backbones_checkpoint, vits, tmp_path):
    """tools/model_converters/extract_backbone.py --branch momentum finds MoCo v3's key
    encoder (mmpretrain's ``momentum_encoder.module.0.``) and keeps ``meta``: the small
    file loads exactly into the 12-head variant and is refused by the 8-head config."""
    path, state = backbones_checkpoint
    small = extract_backbone(torch.load(path, map_location='cpu', weights_only=False),
                             'momentum', path)
    small_path = str(tmp_path / 'mocov3_momentum.pth')
    torch.save(small, small_path)
    vit = vits[12]
    vit.load_pretrained(small_path)
    expected = backbone_of(state, 'momentum_encoder.module.0.')
    assert not torch.equal(expected['layers.0.attn.qkv.weight'],
                           state['backbone.layers.0.attn.qkv.weight'])
    got = vit.state_dict()
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert torch.equal(got[k], v), k
    with pytest.raises(ValueError, match='num_heads=12'):
        vits[8].load_pretrained(small_path)


def test_checkpoint_without_stored_config_loads_with_a_warning(backbones_checkpoint, vits,
                                                               tmp_path, monkeypatch):
    """Converted or foreign checkpoints (no meta['cfg']): nothing to check against, so the
    load goes on and says that the head count is the user's to check."""
    _, state = backbones_checkpoint
    bare = str(tmp_path / 'bare.pth')
    torch.save(dict(state_dict=select_prefix(state, 'backbone.', 'x')), bare)
    log = LogRecorder(monkeypatch)
    vits[12].load_pretrained(bare, prefix='')
    assert any('head count not verified' in m and '12 heads' in m for m in log.messages)


@pytest.mark.parametrize('arch, heads', [
    ('mocov3-small', 12), ('MoCoV3-S', 12), ('deit-small', 6), ('b', 12),
    (dict(embed_dims=384, num_layers=12, num_heads=8, feedforward_channels=1536), 8),
])
def test_head_count_is_read_from_the_stored_config(arch, heads):
    cfg = Config(dict(model=dict(type='MoCoV3', backbone=dict(type='MoCoV3ViT', arch=arch))))
    got, where = mgc_vit_module.pretrained_num_heads(dict(meta=dict(cfg=cfg.pretty_text)))
    assert got == heads, where
    assert mgc_vit_module.pretrained_num_heads(dict(meta=dict(cfg='x = (')))[0] is None
    for backbone in (dict(arch='nonsense'), dict(type='ResNet', depth=50)):
        assert mgc_vit_module.pretrained_num_heads(dict(meta=dict(cfg=Config(
            dict(model=dict(backbone=backbone))).pretty_text)))[0] is None
