"""DINOProjector (weight-norm key names, fixed g, deep copy) and RelationProjector."""
import copy

import torch
from torch import nn

from mgc_mm.models.necks import DINOProjector, RelationProjector


def test_dino_projector_weight_norm_keys_and_fixed_g():
    head = DINOProjector(8, hid_channels=12, bottleneck_channels=4, out_channels=10)
    keys = [k for k in head.state_dict() if k.startswith('last_layer.')]
    # torch.nn.utils.parametrizations.weight_norm: g = original0, v = original1
    assert keys == ['last_layer.parametrizations.weight.original0',
                    'last_layer.parametrizations.weight.original1']
    g = head.last_layer.parametrizations.weight.original0
    v = head.last_layer.parametrizations.weight.original1
    assert g.shape == (10, 1) and v.shape == (10, 4)
    assert torch.equal(g, torch.ones(10, 1)) and not g.requires_grad and v.requires_grad
    # effective weight = v / |v| per prototype (g = 1); normalisation in float32
    torch.testing.assert_close(head.last_layer.weight, v / v.norm(dim=1, keepdim=True),
                               rtol=1e-6, atol=1e-7)
    x = torch.randn(3, 8)
    head(x).sum().backward()
    assert g.grad is None and v.grad is not None
    # CosineEMA deep-copies the projector (the deprecated weight_norm cannot be copied)
    twin = copy.deepcopy(head)
    assert torch.equal(twin(x), head(x))
    # without norm_last_layer g is learnt (DINO's option)
    assert DINOProjector(8, 12, 4, 10, norm_last_layer=False).last_layer \
        .parametrizations.weight.original0.requires_grad


def test_relation_projector_reads_the_query_position_after_the_norm():
    torch.manual_seed(0)
    proj = RelationProjector(16, num_heads=2, feedforward_channels=24, hid_channels=20,
                             out_channels=6).eval()
    norm = nn.LayerNorm(16)
    q, nb = torch.randn(3, 16, requires_grad=True), torch.randn(3, 4, 16)
    out = proj(q, nb, norm)
    seq = torch.cat([q[:, None], nb], 1)
    ref = proj.mlp(norm(proj.relation_block(seq)[:, 0]))
    assert torch.equal(out, ref)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))  # unit rows, float32
    # the neighbours change the output (the block attends to them)
    assert not torch.allclose(out, proj(q, nb + 1, norm))
    out.sum().backward()
    assert q.grad is not None and norm.weight.grad is not None
