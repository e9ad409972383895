import pytest
import torch
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS

ARCH = dict(embed_dims=64, num_layers=4, num_heads=8, feedforward_channels=128)


def build(**kw):
    cfg = dict(type='MGCViT', arch=ARCH, img_size=224, patch_size=16, out_type='featmap',
               norm_cfg=dict(type='LN', eps=1e-6), out_indices=[0, 1, 2, 3])
    cfg.update(kw)
    return MODELS.build(cfg)


def source_state():
    torch.manual_seed(0)
    vit = build()
    vit.init_weights()
    return vit.state_dict()


def save(tmp_path, state, prefix='backbone.'):
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': {prefix + k: v for k, v in state.items()},
                'meta': {}}, path)
    return str(path)


def test_final_norm_on_every_output():
    torch.manual_seed(0)
    vit = build(drop_path_rate=0.)
    vit.eval()
    x = torch.randn(2, 3, 224, 224)
    outs = vit(x)
    plain = MODELS.build(dict(type='VisionTransformer', arch=ARCH, out_type='raw',
                              norm_cfg=dict(type='LN', eps=1e-6), out_indices=[0, 1, 2, 3],
                              final_norm=False))
    plain.load_state_dict({k: v for k, v in vit.state_dict().items() if not k.startswith('ln1.')})
    plain.eval()
    raws = plain(x)
    for out, raw in zip(outs, raws):
        ref = vit.ln1(raw)[:, 1:].transpose(1, 2).reshape(2, 64, 14, 14)
        torch.testing.assert_close(out, ref)
    last_only = build(out_norm='last')
    last_only.load_state_dict(vit.state_dict())
    last_only.eval()
    torch.testing.assert_close(last_only(x)[0], raws[0][:, 1:].transpose(1, 2).reshape(2, 64, 14, 14))


def test_strict_load_with_prefix_and_pos_resize(tmp_path):
    src = source_state()
    path = save(tmp_path, src, prefix='momentum_encoder.module.backbone.')
    vit = build(img_size=320, init_cfg=dict(type='Pretrained', checkpoint=path,
                                            prefix='momentum_encoder.module.backbone.'))
    vit.init_weights()
    got = vit.state_dict()
    for k, v in src.items():
        if k == 'pos_embed':
            ref = resize_pos_embed(v, (14, 14), (20, 20), 'bicubic', 1)
            torch.testing.assert_close(got[k], ref)
        else:
            assert torch.equal(got[k], v), k


def test_missing_unexpected_and_wrong_prefix_are_errors(tmp_path):
    src = source_state()
    broken = dict(src)
    del broken['layers.2.ln1.weight']
    with pytest.raises(RuntimeError, match=r'layers\.2\.ln1\.weight'):
        build(init_cfg=dict(type='Pretrained', checkpoint=save(tmp_path, broken))).init_weights()
    extra = dict(src, **{'head.weight': torch.ones(1)})
    with pytest.raises(RuntimeError, match=r'head\.weight'):
        build(init_cfg=dict(type='Pretrained', checkpoint=save(tmp_path, extra))).init_weights()
    with pytest.raises(KeyError, match='encoder'):
        build(init_cfg=dict(type='Pretrained', checkpoint=save(tmp_path, src),
                            prefix='encoder.')).init_weights()
    # a model without the final norm would drop pretrained weights: refused.
    with pytest.raises(ValueError, match='final_norm'):
        build(final_norm=False)


def test_without_cls_token_drops_its_position(tmp_path):
    src = source_state()
    vit = build(img_size=(64, 48), with_cls_token=False, out_indices=[3],
                init_cfg=dict(type='Pretrained', checkpoint=save(tmp_path, src)))
    vit.init_weights()
    ref = resize_pos_embed(src['pos_embed'][:, 1:], (14, 14), (4, 3), 'bicubic', 0)
    torch.testing.assert_close(vit.pos_embed, ref)
    assert torch.equal(vit.layers[3].attn.qkv.weight, src['layers.3.attn.qkv.weight'])
    assert vit(torch.randn(1, 3, 64, 48))[0].shape == (1, 64, 4, 3)
