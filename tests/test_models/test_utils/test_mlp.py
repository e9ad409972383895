"""MLP: DINO-style Linear / activation stack, optionally a norm before each activation
(DINO's ``use_bn``), plumbed through every Mugs head as ``mlp_norm_cfg``."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mgc_mm.models.utils.mlp import MLP
from mgc_mm.registry import MODELS


def test_norm_before_each_activation_equals_a_direct_computation():
    torch.manual_seed(0)
    mlp = MLP(6, 10, 4, num_layers=3, norm_cfg=dict(type='BN'), normalize_output=True)
    kinds = [type(m).__name__ for m in mlp]
    assert kinds == ['Linear', 'BatchNorm1d', 'GELU', 'Linear', 'BatchNorm1d', 'GELU',
                     'Linear']
    assert [type(m).__name__ for m in MLP(6, 10, 4, num_layers=3)] == [
        'Linear', 'GELU', 'Linear', 'GELU', 'Linear']
    x = torch.randn(7, 6) + 3.
    mlp.train()
    h = x
    for lin in (mlp[0], mlp[3]):
        h = lin(h)
        h = F.gelu((h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5))
    want = F.normalize(mlp[6](h), dim=-1)
    # fp32 sums of 6-10 terms in another order: ~1e-6.
    torch.testing.assert_close(mlp(x), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('head', [
    dict(type='MugsInstanceHead', in_channels=8, hid_channels=16, out_channels=4,
         pred_hid_channels=16, queue_len=8),
    dict(type='MugsLocalGroupHead', in_channels=8, num_heads=2, feedforward_channels=16,
         num_neighbours=2, memory_len=8, hid_channels=16, out_channels=4,
         pred_hid_channels=16, queue_len=8),
    dict(type='MugsGroupHead', in_channels=8, hid_channels=16, bottleneck_channels=4,
         out_channels=32),
])
def test_mugs_heads_take_mlp_norm_cfg(head):
    def norms(cfg):
        return sum(isinstance(m, nn.modules.batchnorm._BatchNorm)
                   for m in MODELS.build(cfg).modules())

    assert norms(head) == 0  # the spec's heads: no norm layers
    # Two hidden layers in the 3-layer projectors, one in the 2-layer predictors.
    want = 3 if head['type'] != 'MugsGroupHead' else 2
    assert norms(dict(head, mlp_norm_cfg=dict(type='SyncBN'))) == want
