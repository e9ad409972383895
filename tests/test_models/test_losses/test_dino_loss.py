"""DINOLoss: distillation cross-entropy and the centre update against their formulas."""
import numpy as np
import pytest
import torch

from mgc_mm.models.losses import DINOLoss


def test_loss_and_center_update_equal_the_formulas():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(5, 7, generator=g)
    t = torch.randn(5, 7, generator=g)
    loss = DINOLoss(7, student_temp=0.1, center_momentum=0.9)
    c0 = torch.randn(1, 7, generator=g)
    loss.center.copy_(c0)
    probs = loss.teacher_probs(t, 0.04)
    value = loss(s, probs)

    tn, sn, cn = t.double().numpy(), s.double().numpy(), c0.double().numpy()
    e = np.exp((tn - cn) / 0.04 - ((tn - cn) / 0.04).max(1, keepdims=True))
    qn = e / e.sum(1, keepdims=True)
    z = sn / 0.1
    logp = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(
        1, keepdims=True))
    ref = float(-(qn * logp).sum(1).mean())
    # float32 softmax / log-softmax of logits up to ~|t| / 0.04 ~ 100: ~1e-6 relative
    # against float64; 1e-5 leaves margin and is far below a wrong temperature.
    assert value.item() == pytest.approx(ref, rel=1e-5)

    loss.update_center(t)
    expect = 0.9 * cn + 0.1 * tn.mean(0, keepdims=True)
    # one multiply-add of float32 values of order 1
    np.testing.assert_allclose(loss.center.numpy(), expect, rtol=0, atol=1e-6)
    assert 'center' in loss.state_dict()  # resumed with the checkpoint


def test_shape_check():
    with pytest.raises(ValueError, match='shapes'):
        DINOLoss(4)(torch.randn(2, 4), torch.rand(3, 4))
