"""InfoNCELoss with a queue of negatives (Mugs IDS / LGDS) against NumPy."""
import numpy as np
import pytest
import torch

from mgc_mm.models.losses import InfoNCELoss


def numpy_queue_info_nce(q, k, queue, tau):
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k = k / np.linalg.norm(k, axis=1, keepdims=True)
    logits = np.concatenate([(q * k).sum(1, keepdims=True), q @ queue.T], axis=1) / tau
    m = logits.max(1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(1)) + m[:, 0]
    return float((lse - logits[:, 0]).mean())


def test_queue_info_nce_equals_numpy_and_keys_get_no_gradient():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(6, 8, generator=g, requires_grad=True)
    k = torch.randn(6, 8, generator=g, requires_grad=True)
    queue = torch.nn.functional.normalize(torch.randn(20, 8, generator=g), dim=1)
    loss = InfoNCELoss(0.2)(q, k, queue=queue)
    ref = numpy_queue_info_nce(q.detach().double().numpy(), k.detach().double().numpy(),
                               queue.double().numpy(), 0.2)
    # float32 logits of magnitude <= 1 / 0.2 = 5 over 21 columns against float64:
    # the difference is ~1e-7 relative; 1e-5 is far below any wrong term.
    assert loss.item() == pytest.approx(ref, rel=1e-5)
    loss.backward()
    assert q.grad.abs().sum() > 0 and k.grad is None


def test_queue_rejects_labels_and_shape_mismatch():
    q, k, queue = torch.randn(4, 3), torch.randn(4, 3), torch.randn(5, 3)
    with pytest.raises(ValueError, match='labels'):
        InfoNCELoss(0.2)(q, k, labels=torch.arange(4), queue=queue)
    with pytest.raises(ValueError, match='keys'):
        InfoNCELoss(0.2)(q, k[:3], queue=queue)
