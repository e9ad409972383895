"""k-means on the device: separated clusters, a NumPy Lloyd reference, seeds, and
Sinkhorn's balance on one process (the 2-process checks are in
tests/test_models/test_selfsup/test_dsc_dist.py)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mgc_mm.models.utils import distributed_kmeans, kmeans, sinkhorn


def two_blobs(n=40, dim=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.zeros(2, dim)
    centres[0, 0], centres[1, 1] = 10., 10.  # orthogonal, far apart
    truth = torch.arange(2 * n) % 2
    return centres[truth] + 0.1 * torch.randn(2 * n, dim, generator=g), truth


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
@pytest.mark.parametrize('init', ['kmeans++', 'random'])
def test_two_separated_clusters_get_two_pseudo_classes(metric, init):
    x, truth = two_blobs()
    for seed in range(5):
        _, labels = kmeans(x, 2, 5, metric, init, torch.Generator().manual_seed(seed))
        # Two classes, each exactly one blob (in either order).
        assert labels[truth == 0].unique().numel() == 1
        assert labels[truth == 1].unique().numel() == 1
        assert labels[truth == 0][0] != labels[truth == 1][0]


def numpy_lloyd(x, centroids, iters):
    for _ in range(iters):
        d = ((x[:, None] - centroids[None]) ** 2).sum(-1)
        lab = d.argmin(1)
        for c in range(len(centroids)):
            if (lab == c).any():  # empty clusters keep their centroid
                centroids[c] = x[lab == c].mean(0)
    return centroids, ((x[:, None] - centroids[None]) ** 2).sum(-1).argmin(1)


def test_lloyd_iterations_equal_numpy():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, 5, generator=g)
    init, _ = kmeans(x, 7, 0, 'euclidean', 'random', torch.Generator().manual_seed(4))
    cent, labels = kmeans(x, 7, 6, 'euclidean', 'random', torch.Generator().manual_seed(4))
    ref_c, ref_l = numpy_lloyd(x.double().numpy(), init.double().numpy(), 6)
    assert np.array_equal(labels.numpy(), ref_l)
    # fp32 sums of ~30 rows vs float64: a few ulps of values of magnitude ~1.
    np.testing.assert_allclose(cent.numpy(), ref_c, atol=1e-5)


def test_kmeanspp_spreads_and_seed_fixes_the_result():
    x, truth = two_blobs(n=100)
    # k-means++ never starts both centres in one blob when the blobs are this far apart
    # (the second draw has probability ~1e-4 · n of landing in the first centre's blob).
    for seed in range(10):
        init, _ = kmeans(x, 2, 0, 'euclidean', 'kmeans++', torch.Generator().manual_seed(seed))
        assert (init[0] - init[1]).norm() > 10
    a = kmeans(x, 5, 3, generator=torch.Generator().manual_seed(3))
    b = kmeans(x, 5, 3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    # Cosine centroids are unit rows.
    torch.testing.assert_close(a[0].norm(dim=1), torch.ones(5))
    with pytest.raises(ValueError, match='num_clusters'):
        kmeans(x[:3], 5)


def test_distributed_kmeans_one_process_is_kmeans():
    x, _ = two_blobs()
    res = distributed_kmeans(x, 3, 4, seed=11)
    c, lab = kmeans(x, 3, 4, generator=torch.Generator().manual_seed(11))
    assert torch.equal(res.centroids, c) and torch.equal(res.labels, lab)
    assert torch.equal(res.all_labels, lab) and res.offset == 0


def test_sinkhorn_balances_prototypes_over_all_rows():
    g = torch.Generator().manual_seed(0)
    scores = F.normalize(torch.randn(300, 6, generator=g), dim=1) @ F.normalize(
        torch.randn(6, 6, generator=g), dim=1).t()
    scores[:, 0] += 0.5  # prototype 0 preferred by everyone
    q = sinkhorn(scores, num_iters=50, epsilon=0.05)
    # Rows are assignments; after enough iterations every prototype gets N / K.
    torch.testing.assert_close(q.sum(1), torch.ones(300))
    # 50 iterations from a skewed start: balanced to well within 1 %.
    torch.testing.assert_close(q.sum(0), torch.full((6, ), 50.), rtol=1e-2, atol=0)
    assert q.argmax(1).bincount(minlength=6).min() > 0
    # Large scores / ε do not overflow (the global max is subtracted).
    assert torch.isfinite(sinkhorn(scores * 100, epsilon=0.05)).all()
