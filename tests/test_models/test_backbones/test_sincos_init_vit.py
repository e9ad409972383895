import glob
import os.path as osp

import torch
from mmengine.config import Config
from mmpretrain.models import VisionTransformer
from mmpretrain.models.selfsup.mocov3 import MoCoV3ViT
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from mmpretrain.registry import MODELS

import mgc_mm.models  # noqa: F401  (registers SinCosInitViT)
from tests.conftest import REPO

ARCH = dict(embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=128)
KW = dict(arch=ARCH, img_size=64, patch_size=16, norm_cfg=dict(type='LN', eps=1e-6),
          final_norm=True, out_type='cls_token')


def build(**kw):
    torch.manual_seed(0)
    vit = MODELS.build(dict(type='SinCosInitViT', **KW, **kw))
    vit.init_weights()
    return vit


def test_starts_exactly_as_mocov3_vit_but_learns_the_position_embedding():
    vit = build()
    torch.manual_seed(0)
    ref = MoCoV3ViT(**KW)
    ref.init_weights()
    # Same draws in the same order: every tensor equal, the sin-cos table included.
    ref_state = ref.state_dict()
    assert vit.state_dict().keys() == ref_state.keys()
    for k, v in vit.state_dict().items():
        assert torch.equal(v, ref_state[k]), k
    assert torch.equal(vit.pos_embed, build_2d_sincos_position_embedding(
        (4, 4), 64, cls_token=True))
    assert not ref.pos_embed.requires_grad
    assert vit.pos_embed.requires_grad
    # A loss on the CLS token reaches the table (MoCoV3ViT's stays frozen).
    vit(torch.randn(2, 3, 64, 64))[0].square().sum().backward()
    assert vit.pos_embed.grad is not None and vit.pos_embed.grad.abs().sum() > 0


def test_frozen_stages_still_freeze_the_position_embedding():
    vit = build(frozen_stages=0)
    assert not vit.pos_embed.requires_grad
    assert not vit.patch_embed.projection.weight.requires_grad


def test_weights_load_strictly_into_mmpretrain_vit():
    vit = build()
    plain = VisionTransformer(**KW)
    plain.load_state_dict(vit.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    vit.eval(), plain.eval()
    with torch.no_grad():
        # Same modules and weights: the same computation, bit for bit.
        assert torch.equal(vit(x)[0], plain(x)[0])


def test_mugs_configs_use_it():
    # Every Mugs pretraining config (S, B, L, COCO, demo); that the demo trains the
    # table is checked in test_train_mugs.py.
    paths = sorted(glob.glob(osp.join(REPO, 'configs', 'mugs', '*.py')))
    assert len(paths) >= 5
    for path in paths:
        assert Config.fromfile(path).model.backbone.type == 'SinCosInitViT', path
