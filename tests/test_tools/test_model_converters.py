import os.path as osp
import subprocess
import sys
from functools import partial

import pytest
import timm
import torch
from mmpretrain.registry import MODELS

from mgc_mm.utils import (mgc_mm_to_timm, mmpretrain_vit_to_timm, official_mgc_to_mgc_mm,
                          timm_vit_to_mmpretrain)
from tests.conftest import REPO

CONVERTERS = osp.join(REPO, 'tools', 'model_converters')


def run(script, *args):
    res = subprocess.run([sys.executable, osp.join(CONVERTERS, script), *map(str, args)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def timm_vit(depth=4, dim=64, heads=8):
    return timm.models.vision_transformer.VisionTransformer(
        img_size=224, patch_size=16, embed_dim=dim, depth=depth, num_heads=heads,
        mlp_ratio=2.0, qkv_bias=True, num_classes=0, global_pool='',
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))


@pytest.mark.slow
def test_timm_export_round_trip_and_equivalence(tiny_mgc_checkpoint, tmp_path):
    ckpt = torch.load(tiny_mgc_checkpoint, map_location='cpu', weights_only=False)
    out = tmp_path / 'timm.pth'
    run('mgc_mm_to_timm.py', tiny_mgc_checkpoint, out)
    exported = torch.load(out)
    # A real timm ViT loads it strictly and computes the same features as mmpretrain's.
    model = timm_vit()
    model.load_state_dict(exported, strict=True)
    model.eval()
    ours = MODELS.build(dict(type='VisionTransformer', arch=dict(
        embed_dims=64, num_layers=4, num_heads=8, feedforward_channels=128),
        norm_cfg=dict(type='LN', eps=1e-6), out_type='raw'))
    ours.load_state_dict({k[len('backbone.'):]: v for k, v in ckpt['state_dict'].items()
                          if k.startswith('backbone.')})
    ours.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        # Two implementations (timm's fused qkv / SDPA attention vs mmpretrain's) reduce
        # in different orders through 4 blocks: float32 drift of ~1e-6 per block on O(1)
        # activations; 1e-4 bounds it with margin, while one wrong or transposed key
        # changes the output by O(1).
        torch.testing.assert_close(model.forward_features(x), ours(x)[0], rtol=1e-4, atol=1e-4)
    # Round trip back to mmpretrain names is exact.
    back = timm_vit_to_mmpretrain(exported)
    for k, v in back.items():
        assert torch.equal(v, ckpt['state_dict']['backbone.' + k]), k
    assert len(back) == sum(k.startswith('backbone.') for k in ckpt['state_dict'])
    momentum = mgc_mm_to_timm(ckpt, 'momentum')
    assert torch.equal(momentum['blocks.0.attn.qkv.weight'],
                       ckpt['state_dict']['momentum_encoder.module.backbone.layers.0.attn.qkv.weight'])


def test_official_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    online, momentum = timm_vit(depth=2), timm_vit(depth=2)
    official = {'epoch': 800, 'state_dict': {
        **{f'module.base_encoder.{k}': v for k, v in online.state_dict().items()},
        **{f'module.momentum_encoder.{k}': v for k, v in momentum.state_dict().items()},
        'module.base_encoder_projector.0.weight': torch.ones(3, 3),
        'module.predictor.0.weight': torch.ones(3, 3)}}
    src = tmp_path / 'official.pth'
    torch.save(official, src)
    dst = tmp_path / 'mgc_mm.pth'
    printed = run('mgc_official_to_mgc_mm.py', src, dst)
    assert 'predictor.0.weight' in printed  # heads are reported, not silently lost
    state = torch.load(dst, weights_only=False)['state_dict']
    assert not any(k.startswith(('base_encoder', 'module')) for k in state)
    # mgc_mm layout back to timm: the very same tensors.
    for branch, model in (('online', online), ('momentum', momentum)):
        again = mgc_mm_to_timm({'state_dict': state}, branch)
        ref = model.state_dict()
        assert set(again) == set(ref)
        for k in ref:
            assert torch.equal(again[k], ref[k]), (branch, k)
    # and the converted backbone loads strictly into the downstream ViT.
    vit = MODELS.build(dict(type='MGCViT', arch=dict(embed_dims=64, num_layers=2, num_heads=8,
                                                      feedforward_channels=128),
                            norm_cfg=dict(type='LN', eps=1e-6), out_type='featmap',
                            init_cfg=dict(type='Pretrained', checkpoint=str(dst),
                                          prefix='momentum_encoder.module.backbone.')))
    vit.init_weights()
    assert torch.equal(vit.layers[1].ffn.layers[1].weight, momentum.blocks[1].mlp.fc2.weight)


def test_converters_refuse_foreign_keys():
    with pytest.raises(KeyError, match='official MGC'):
        official_mgc_to_mgc_mm({'state_dict': {'encoder.x': torch.ones(1)}})
    with pytest.raises(KeyError, match='not mmpretrain ViT'):
        mmpretrain_vit_to_timm({'neck.fc.weight': torch.ones(1)})
    with pytest.raises(KeyError, match='mgc_mm checkpoint'):
        mgc_mm_to_timm({'state_dict': {'x.y': torch.ones(1)}})
