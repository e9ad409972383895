"""DSC's collectives over 2 gloo processes equal one process on the concatenated
batch: k-means pseudo-labels (identical on both ranks although their RNGs differ),
Sinkhorn over both branches of the whole batch, and the supervised-contrastive loss."""
import os
import socket
import tempfile

import pytest
import torch

SPLIT = [0, 30, 70]  # unequal rows per rank
NUM_PROTOS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _problem():
    g = torch.Generator().manual_seed(5)
    return dict(pixels=torch.randn(SPLIT[-1], 8, generator=g),
                branch1=torch.randn(SPLIT[-1], NUM_PROTOS, generator=g) * 0.3,
                branch2=torch.randn(SPLIT[-1], NUM_PROTOS, generator=g) * 0.3 + 0.2,
                query=torch.randn(SPLIT[-1], 8, generator=g),
                qlab=torch.randint(0, 4, (SPLIT[-1], ), generator=g),
                key=torch.randn(SPLIT[-1], 8, generator=g),
                klab=torch.randint(0, 4, (SPLIT[-1], ), generator=g))


def _compute(lo, hi, seed=None):
    from mgc_mm.models.losses import SupConLoss
    from mgc_mm.models.utils import distributed_kmeans, sinkhorn
    p = _problem()
    km = distributed_kmeans(p['pixels'][lo:hi], 5, 4, seed=seed)
    # The rows of both branches of this rank's images, in one call.
    codes = sinkhorn(torch.cat([p['branch1'][lo:hi], p['branch2'][lo:hi]]), num_iters=3)
    query = p['query'][lo:hi].clone().requires_grad_()
    loss = SupConLoss(0.2)(query, p['qlab'][lo:hi], p['key'][lo:hi], p['klab'][lo:hi])
    loss.backward()
    return dict(labels=km.labels, all_labels=km.all_labels, centroids=km.centroids,
                codes=codes, loss=loss.detach(), grad=query.grad)


def _worker(rank, world_size, port, out_dir):
    import torch.distributed as tdist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    tdist.init_process_group('gloo', rank=rank, world_size=world_size)
    torch.manual_seed(100 + rank)  # different RNG states: the seed must be shared
    from mgc_mm.models.utils import shared_seed
    seed = shared_seed(torch.device('cpu'))
    torch.manual_seed(100 + rank)  # distributed_kmeans draws the same seed again
    res = _compute(SPLIT[rank], SPLIT[rank + 1])
    res['seed'] = seed
    torch.save(res, os.path.join(out_dir, f'rank{rank}.pth'))
    tdist.destroy_process_group()


@pytest.fixture(scope='module')
def runs():
    with tempfile.TemporaryDirectory() as d:
        torch.multiprocessing.spawn(_worker, args=(2, _free_port(), d), nprocs=2, join=True)
        return [torch.load(os.path.join(d, f'rank{r}.pth'), weights_only=False)
                for r in range(2)]


def test_pseudo_labels_identical_on_every_rank(runs):
    r0, r1 = runs
    assert r0['seed'] == r1['seed']  # rank 0's draw, broadcast
    assert torch.equal(r0['all_labels'], r1['all_labels'])
    assert torch.equal(r0['centroids'], r1['centroids'])
    assert torch.equal(torch.cat([r0['labels'], r1['labels']]), r0['all_labels'])
    assert r0['all_labels'].unique().numel() == 5
    # ... and what one process clusters from the concatenated rows with that seed.
    one = _compute(0, SPLIT[-1], seed=r0['seed'])
    assert torch.equal(one['all_labels'], r0['all_labels'])
    torch.testing.assert_close(one['centroids'], r0['centroids'], rtol=0, atol=0)


def test_sinkhorn_two_processes_equal_one_on_both_branches(runs):
    one = _compute(0, SPLIT[-1], seed=0)
    n = SPLIT[-1]
    want = one['codes']  # rows: branch 1 of all images, then branch 2
    for rank, r in enumerate(runs):
        lo, hi = SPLIT[rank], SPLIT[rank + 1]
        got1, got2 = r['codes'][:hi - lo], r['codes'][hi - lo:]
        # fp32 all-reduce sums in another order than one process's sums: ~1 ulp.
        torch.testing.assert_close(got1, want[lo:hi], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(got2, want[n + lo:n + hi], rtol=1e-5, atol=1e-7)
    # One balance over both branches, not one per branch: the prototype masses of
    # the two branches together are balanced, and differ from per-branch balancing.
    from mgc_mm.models.utils import sinkhorn
    p = _problem()
    per_branch = torch.cat([sinkhorn(p['branch1']), sinkhorn(p['branch2'])])
    assert not torch.allclose(per_branch, want, atol=1e-3)


def test_supcon_two_processes_equal_one(runs):
    one = _compute(0, SPLIT[-1], seed=0)
    # DDP averages the ranks' losses and gradients.
    mean_loss = (runs[0]['loss'] + runs[1]['loss']) / 2
    torch.testing.assert_close(mean_loss, one['loss'], rtol=1e-5, atol=0)  # fp32 sum order
    grad = torch.cat([runs[0]['grad'], runs[1]['grad']]) / 2
    torch.testing.assert_close(grad, one['grad'], rtol=1e-4, atol=1e-7)  # fp32 sum order
