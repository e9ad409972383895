"""SupConLoss equals a NumPy reference; queries without positives are left out; the
category loss is lower when pixel features follow their clusters than when shuffled."""
import numpy as np
import pytest
import torch

from mgc_mm.models.losses import SupConLoss
from mgc_mm.models.utils import kmeans


def numpy_supcon(q, ql, k, kl, tau):
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k = k / np.linalg.norm(k, axis=1, keepdims=True)
    logits = q @ k.T / tau
    log_prob = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    per = []
    for i in range(len(q)):
        pos = kl == ql[i]
        if pos.any():
            per.append(-log_prob[i, pos].mean())
    return np.mean(per)


@pytest.mark.parametrize('tau', [0.2, 0.5])
def test_equals_numpy(tau):
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(12, 6, generator=g), torch.randn(20, 6, generator=g)
    ql = torch.randint(0, 5, (12, ), generator=g)
    kl = torch.randint(0, 4, (20, ), generator=g)
    ql[:2] = 4  # label 4 has no key: these queries are dropped
    got = SupConLoss(temperature=tau, loss_weight=2.0)(q, ql, k, kl)
    want = numpy_supcon(q.double().numpy(), ql.numpy(), k.double().numpy(), kl.numpy(), tau)
    # fp32 log-softmax vs float64: ~1e-7 relative on values ~2-4.
    assert got.item() == pytest.approx(2.0 * want, rel=1e-5)


def test_gradient_only_through_queries_and_no_positive_is_zero():
    q = torch.randn(4, 3, requires_grad=True)
    k = torch.randn(5, 3, requires_grad=True)
    loss = SupConLoss()(q, torch.zeros(4, dtype=torch.long), k, torch.ones(5, dtype=torch.long))
    assert loss.item() == 0
    loss.backward()
    assert q.grad is not None and k.grad is None


def test_category_loss_lower_aligned_than_shuffled():
    """Spec check: pixels of two well-separated semantic clusters get two pseudo-classes;
    with features aligned to them the category loss is lower than with shuffled ones."""
    g = torch.Generator().manual_seed(0)
    dim, n = 16, 64
    centres = torch.randn(2, dim, generator=g) * 5
    truth = torch.arange(n) % 2
    key = centres[truth] + torch.randn(n, dim, generator=g)
    _, labels = kmeans(key, 2, 5, generator=torch.Generator().manual_seed(0))
    assert labels[truth == 0].unique().numel() == 1 and labels[truth == 1].unique().numel() == 1
    assert labels[truth == 0][0] != labels[truth == 1][0]
    loss = SupConLoss(temperature=0.2)
    aligned = centres[truth] + torch.randn(n, dim, generator=g)
    shuffled = aligned[torch.randperm(n, generator=g)]
    la, ls = loss(aligned, labels, key, labels).item(), loss(shuffled, labels, key, labels).item()
    assert la < ls - 1.5, (la, ls)
    # Aligned is at the floor of L_out: log |P(i)| = log(n / 2) when every positive
    # gets equal softmax mass and the negatives none (0.05: the blobs' noise).
    assert la == pytest.approx(np.log(n / 2), abs=0.05)
