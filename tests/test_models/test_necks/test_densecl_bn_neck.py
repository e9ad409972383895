"""DenseCLBNNeck: DenseCLNeck's three outputs, each hidden layer batch-normalised."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models.necks import DenseCLNeck

from mgc_mm.registry import MODELS


def test_outputs_are_densecl_neck_with_batch_norm():
    torch.manual_seed(0)
    neck = MODELS.build(dict(type='DenseCLBNNeck', in_channels=8, hid_channels=16,
                             out_channels=4, norm_cfg=dict(type='BN')))
    plain = DenseCLNeck(8, 16, 4)
    assert isinstance(neck, DenseCLNeck)
    x = torch.randn(3, 8, 5, 5) + 2.  # a common offset, as pooled ReLU features have
    neck.train()
    g, dense, pooled = neck((x, ))
    assert g.shape == (3, 4) and dense.shape == (3, 4, 25) and pooled.shape == (3, 4)

    # Independent reference: batch statistics of the hidden layers in training mode.
    def bn(h, dims):
        mean, var = h.mean(dims, keepdim=True), h.var(dims, unbiased=False, keepdim=True)
        return (h - mean) / torch.sqrt(var + 1e-5)  # BN's default eps, affine at 1 / 0

    lin1, lin2 = neck.mlp[0], neck.mlp[3]
    h = F.relu(bn(x.mean((2, 3)) @ lin1.weight.t(), 0))
    want_g = h @ lin2.weight.t() + lin2.bias
    c1, c2 = neck.mlp2[0], neck.mlp2[3]
    h2 = F.relu(bn(torch.einsum('oc,bchw->bohw', c1.weight[:, :, 0, 0], x), (0, 2, 3)))
    want_dense = torch.einsum('oc,bchw->bohw', c2.weight[:, :, 0, 0], h2) + c2.bias[:, None, None]
    # fp32 sums of 8-16 terms in another order: ~1e-6.
    torch.testing.assert_close(g, want_g, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(dense, want_dense.flatten(2), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pooled, want_dense.mean((2, 3)), rtol=1e-5, atol=1e-5)
    # Same parameter names as DenseCLNeck for the first and last layers of each branch.
    assert {'mlp.0.weight', 'mlp.3.weight', 'mlp2.0.weight', 'mlp2.3.weight'} <= set(
        dict(neck.named_parameters()))
    assert not hasattr(neck.mlp[0], 'bias') or neck.mlp[0].bias is None
    assert set(dict(plain.named_parameters())) != set(dict(neck.named_parameters()))


def test_default_norm_is_syncbn_in_both_branches():
    neck = MODELS.build(dict(type='DenseCLBNNeck', in_channels=8, hid_channels=16,
                             out_channels=4))
    assert type(neck.mlp[1]).__name__ == 'SyncBatchNorm'
    assert type(neck.mlp2[1]).__name__ == 'SyncBatchNorm'
    with pytest.raises(KeyError):
        MODELS.build(dict(type='DenseCLBNNeck', in_channels=8, hid_channels=16,
                          out_channels=4, norm_cfg=dict(type='NoSuchNorm')))
