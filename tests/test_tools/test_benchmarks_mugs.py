"""Mugs checkpoints in the ViT benchmark configs: the ``*_mugs-vit-s16_*`` variants
(mmpretrain's ``deit-small``: 6 heads) load the student (``backbone.``) or the teacher
(``momentum_encoder.module.backbone.``) of a Mugs ViT-S/16 checkpoint strictly and
exactly in every family (Mask R-CNN, Semantic FPN, UperNet, ViTPose, linear probe),
differ from their MGC twins (8 heads) only in the backbone, give the pretraining
backbone's features, and the MGC / MoCo v3 configs refuse a Mugs checkpoint by its
stored head count."""
import copy
import functools
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS

from mgc_mm.utils import set_pretrained
from tests.conftest import REPO
from tests.test_tools.test_benchmarks import build_model
from tests.test_tools.test_benchmarks_mocov3 import LogRecorder, backbone_of

BENCH = osp.join(REPO, 'configs', 'benchmarks')
MUGS_COCO = osp.join(REPO, 'configs', 'mugs', 'mugs_vit-small-p16_8xb64-amp-coslr-800e_coco.py')
MGC_COCO = osp.join(REPO, 'configs', 'mgc', 'mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')
VARIANTS = {
    'mmdet': 'mmdetection/mask-rcnn_mugs-vit-s16_fpn_8xb2-ms-1x_coco.py',
    'mmdet-lrd': 'mmdetection/mask-rcnn_mugs-vit-s16_fpn_8xb2-ms-1x-lrd_coco.py',
    'mmdet-cityscapes': 'mmdetection/mask-rcnn_mugs-vit-s16_fpn_8xb1-8e_cityscapes.py',
    'mmseg': 'mmsegmentation/fpn_mugs-vit-s16_8xb2-40k_ade20k-512x512.py',
    'mmseg-voc': 'mmsegmentation/fpn_mugs-vit-s16_8xb2-40k_voc12aug-512x512.py',
    'mmseg-upernet': 'mmsegmentation/upernet_mugs-vit-s16_8xb2-160k_ade20k-512x512.py',
    'mmpose': 'mmpose/td-hm_mugs-vit-s16_8xb64-210e_coco-256x192.py',
    'linear': 'classification/mugs-vit-s16_linear-8xb128-coslr-90e_in1k.py',
}
PREFIXES = {'online': 'backbone.', 'momentum': 'momentum_encoder.module.backbone.'}
# The Mugs COCO model with narrow heads, short queues / memories and few prototypes: the
# backbones and their key names are the real ones, the file stays ~180 MB (two ViT-S).
SMALL_HEADS = dict(
    ids_head=dict(hid_channels=64, out_channels=16, pred_hid_channels=32, queue_len=16),
    lgds_head=dict(hid_channels=64, out_channels=16, pred_hid_channels=32, queue_len=16,
                   memory_len=16, num_neighbours=3),
    gds_head=dict(hid_channels=64, bottleneck_channels=16, out_channels=32))


@functools.lru_cache(maxsize=None)
def _config(path):
    return Config.fromfile(path)  # mmdet / mmseg configs take ~1 s to parse


def config(name_or_path):
    path = name_or_path if osp.isabs(name_or_path) else osp.join(BENCH, name_or_path)
    return copy.deepcopy(_config(path))


def twin(name):
    return VARIANTS[name].replace('mugs-vit-s16', 'mgc-vit-s16')


def build_backbone(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(copy.deepcopy(cfg.model.backbone))


@pytest.fixture(scope='module')
def mugs(tmp_path_factory):
    """A Mugs ViT-S/16 checkpoint as tools/train.py writes it from the COCO config: the
    model's state dict (student, teacher, heads, queues) and the runner's ``meta['cfg']``
    (the real config, ``arch='deit-small'``). The teacher is moved off the student, as
    training does, so that the two branches are told apart."""
    cfg = config(MUGS_COCO)
    model_cfg = copy.deepcopy(cfg.model)
    for head, small in SMALL_HEADS.items():
        model_cfg[head].update(small)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    model.momentum_encoder.update_parameters(model._online_encoder())  # first update copies
    with torch.no_grad():
        for p in model.momentum_encoder.module.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.eval()
    state = model.state_dict()
    # The layout the benchmark prefixes rely on (mgc_mm/models/selfsup/mugs.py).
    assert set(backbone_of(state, PREFIXES['online'])) == set(model.backbone.state_dict())
    assert set(backbone_of(state, PREFIXES['momentum'])) == set(model.backbone.state_dict())
    assert not torch.equal(state['backbone.layers.0.attn.qkv.weight'],
                           state['momentum_encoder.module.backbone.layers.0.attn.qkv.weight'])
    path = str(tmp_path_factory.mktemp('mugs') / 'mugs_vit-s16.pth')
    torch.save(dict(state_dict=state, meta=dict(cfg=cfg.pretty_text, epoch=800)), path)
    return path, state, model


def expected_backbone(state, branch, backbone):
    expected = backbone_of(state, PREFIXES[branch])
    if not backbone.with_cls_token:  # ViTPose: class token and its position dropped
        expected.pop('cls_token')
        expected['pos_embed'] = resize_pos_embed(expected['pos_embed'][:, 1:], (14, 14),
                                                 backbone.patch_resolution, 'bicubic', 0)
    return expected


def assert_loaded_exactly(backbone, state, branch, log):
    expected = expected_backbone(state, branch, backbone)
    got = backbone.state_dict()
    # 12 blocks x 12 tensors + patch projection (2) + cls token + pos_embed + final norm (2)
    assert set(got) == set(expected) and len(got) == 150 - (not backbone.with_cls_token)
    for k, v in expected.items():
        assert torch.equal(got[k], v), k  # the learned pos_embed (resized for ViTPose) too
    assert backbone.arch_settings['num_heads'] == 6
    assert any(f"(prefix {PREFIXES[branch]!r}), no missing or unexpected keys" in m
               for m in log.messages), log.messages
    assert not any('not verified' in m or 'mmpretrain) checkpoint is under' in m
                   for m in log.messages), log.messages
    if not backbone.with_cls_token:
        assert any("not loading ['cls_token', 'pos_embed[:, 0] (class-token position)']" in m
                   for m in log.messages), log.messages


@pytest.mark.slow  # builds a detector, two segmentors and a pose model at ViT-S size
# The student through the whole model of one config per family (the other variants
# share its backbone: test_variant_is_its_mgc_twin_with_six_heads).
@pytest.mark.parametrize('name', ['mmdet', 'mmseg', 'mmseg-upernet', 'mmpose'])
def test_variant_loads_mugs_student_exactly(name, mugs, monkeypatch):
    path, state, _ = mugs
    cfg = config(VARIANTS[name])
    set_pretrained(cfg, path, None, VARIANTS[name])  # what --pretrained does
    model = build_model(cfg)
    log = LogRecorder(monkeypatch)
    model.backbone.init_weights()  # strict: raises on any missing / unexpected key
    assert_loaded_exactly(model.backbone, state, 'online', log)


# The teacher (--pretrained-branch momentum) through each family's backbone config.
@pytest.mark.parametrize('name', ['mmdet', 'mmseg', 'mmseg-upernet', 'mmpose'])
def test_variant_loads_mugs_teacher_exactly(name, mugs, monkeypatch):
    path, state, _ = mugs
    cfg = config(VARIANTS[name])
    set_pretrained(cfg, path, 'momentum', VARIANTS[name])
    assert cfg.model.backbone.init_cfg.prefix == PREFIXES['momentum']
    backbone = build_backbone(cfg)
    log = LogRecorder(monkeypatch)
    backbone.init_weights()
    assert_loaded_exactly(backbone, state, 'momentum', log)


@pytest.mark.parametrize('name', list(VARIANTS))
def test_variant_is_its_mgc_twin_with_six_heads(name):
    """The backbone's head count and default checkpoint changed, nothing else."""
    mgc = config(twin(name)).to_dict()
    ours = config(VARIANTS[name]).to_dict()
    assert ours['model']['backbone']['arch'] == dict(mgc['model']['backbone']['arch'],
                                                     num_heads=6)
    assert mgc['model']['backbone']['arch']['num_heads'] == 8
    for cfg_dict in (ours, mgc):
        cfg_dict['model']['backbone'].pop('arch')
        if name != 'linear':  # the linear probes share the '${PRETRAINED}' placeholder
            cfg_dict['model']['backbone']['init_cfg'].pop('checkpoint')
        cfg_dict.pop('mugs_vit_s16', None)
    assert ours == mgc


def test_benchmark_backbone_is_the_pretraining_backbone():
    """Every argument of Mugs' pretraining ViT (deit-small, LN eps, qkv bias, learned
    position embedding, final norm) is the benchmark backbone's: compared built, not
    as text, since one is an arch name and the other written out."""
    ref_cfg = config(MUGS_COCO).model.backbone
    ours = build_backbone(config(VARIANTS['linear']))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ref = MODELS.build(ref_cfg)
    assert ours.arch_settings == ref.arch_settings
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in ref.state_dict().items()}
    assert ours.ln1.eps == ref.ln1.eps == 1e-6
    assert ours.layers[0].ln1.eps == ref.layers[0].ln1.eps
    assert ours.layers[0].attn.qkv.bias is not None and ref.layers[0].attn.qkv.bias is not None
    assert ours.layers[0].attn.num_heads == ref.layers[0].attn.num_heads == 6


@pytest.mark.parametrize('branch', ['online', 'momentum'])
def test_linear_probe_sees_the_pretrained_features(branch, mugs, monkeypatch):
    """The frozen linear-probe backbone gives the CLS token of the Mugs student / teacher
    exactly: same weights *and* same computation (heads, LN eps)."""
    path, state, model = mugs
    cfg = config(VARIANTS['linear'])
    set_pretrained(cfg, path, branch, VARIANTS['linear'])
    backbone = build_backbone(cfg)
    log = LogRecorder(monkeypatch)
    backbone.init_weights()
    assert_loaded_exactly(backbone, state, branch, log)
    reference = model.backbone if branch == 'online' else model.momentum_encoder.module.backbone
    backbone.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = backbone(x)[-1], reference(x)[-1]
    assert ours.shape == theirs.shape == (2, 384)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


@pytest.fixture(scope='module')
def vits():
    """The backbones of the Mask R-CNN configs, built once: 8 heads (MGC), 12 (MoCo v3)
    and 6 (Mugs)."""
    return {8: build_backbone(config(twin('mmdet'))),
            12: build_backbone(config(VARIANTS['mmdet'].replace('mugs', 'mocov3'))),
            6: build_backbone(config(VARIANTS['mmdet']))}


@pytest.mark.parametrize('heads', [8, 12])
def test_other_configs_refuse_a_mugs_checkpoint(heads, mugs, vits):
    """Same shapes, so without the stored head count the Mugs weights would load."""
    path, state, _ = mugs
    sub = backbone_of(state)
    assert {k: v.shape for k, v in sub.items()} == {
        k: v.shape for k, v in vits[heads].state_dict().items()}
    with pytest.raises(ValueError, match=rf"num_heads=6 \(meta\['cfg'\] model\.backbone\.arch="
                       rf"'deit-small'\), this backbone has num_heads={heads}.*"
                       r'Mugs ViT-S/16 \(deit-small\), 6 heads: \*_mugs-vit-s16_\*'):
        vits[heads].load_pretrained(path)


def test_mugs_config_refuses_an_mgc_checkpoint(mugs, vits, tmp_path):
    """An MGC checkpoint (8 heads in its meta['cfg']) at the same shapes."""
    _, state, _ = mugs
    mgc_path = str(tmp_path / 'mgc.pth')
    torch.save(dict(state_dict={k: v for k, v in state.items() if k.startswith('backbone.')},
                    meta=dict(cfg=config(MGC_COCO).pretty_text)), mgc_path)
    with pytest.raises(ValueError, match=r'num_heads=8 .*this backbone has num_heads=6'):
        vits[6].load_pretrained(mgc_path)
    vits[8].load_pretrained(mgc_path)
