import os
import socket
import tempfile

import pytest
import torch
import torch.nn.functional as F

from mgc_mm.models.losses import InfoNCELoss

Q = torch.tensor([[1., 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
K = torch.tensor([[2., 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 3]])
W = torch.tensor([0.5, 0.25, 0.0, 0.125])


def test_spec_numeric_check():
    assert InfoNCELoss(0.1, 'mean')(Q, K, W).item() == pytest.approx(0.3756409, abs=1e-6)
    assert InfoNCELoss(0.1, 'iou_weighted')(Q, K, W).item() == pytest.approx(0.4042886, abs=1e-6)


def test_matches_plain_cross_entropy_and_keys_get_no_gradient():
    torch.manual_seed(0)
    q = torch.randn(7, 5, requires_grad=True)
    k = torch.randn(7, 5, requires_grad=True)
    loss = InfoNCELoss(0.2)(q, k)
    ref = F.cross_entropy(F.normalize(q, dim=1) @ F.normalize(k, dim=1).t() / 0.2,
                          torch.arange(7))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    loss.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    assert k.grad is None


def test_bad_reduction_and_missing_weights():
    with pytest.raises(ValueError, match='reduction'):
        InfoNCELoss(reduction='sum')
    with pytest.raises(ValueError, match='weights'):
        InfoNCELoss(reduction='iou_weighted')(Q, K)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _dist_worker(rank, world_size, port, splits, reduction, out_dir):
    import torch.distributed as tdist
    from torch.nn.parallel import DistributedDataParallel as DDP
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    tdist.init_process_group('gloo', rank=rank, world_size=world_size)
    torch.manual_seed(0)
    x, k, w, layer = _problem()
    model = DDP(layer)
    lo, hi = splits[rank], splits[rank + 1]
    loss = InfoNCELoss(0.1, reduction)(model(x[lo:hi]), k[lo:hi], w[lo:hi])
    loss.backward()
    torch.save(dict(loss=loss.detach(), grad=[p.grad for p in model.parameters()]),
               os.path.join(out_dir, f'rank{rank}.pth'))
    tdist.destroy_process_group()


def _problem():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(9, 6, generator=g)
    k = torch.randn(9, 4, generator=g)
    w = torch.rand(9, generator=g)
    layer = torch.nn.Linear(6, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(4, 6, generator=g))
        layer.bias.copy_(torch.randn(4, generator=g))
    return x, k, w, layer


@pytest.mark.parametrize('reduction', ['mean', 'iou_weighted'])
def test_two_rank_gather_equals_one_process(reduction):
    """Keys gathered over 2 gloo ranks with unequal local batches (4 and 5 rows) and
    rank-offset labels: same loss and DDP gradients as one process on all 9 rows."""
    x, k, w, layer = _problem()
    single = InfoNCELoss(0.1, reduction)(layer(x), k, w)
    single.backward()
    splits = [0, 4, 9]
    with tempfile.TemporaryDirectory() as d:
        torch.multiprocessing.spawn(_dist_worker, args=(2, _free_port(), splits, reduction, d),
                                    nprocs=2, join=True)
        outs = [torch.load(os.path.join(d, f'rank{r}.pth')) for r in range(2)]
    # DDP averages gradients over ranks; the loss it optimises is the rank mean.
    # The two sides sum the same 9 float32 terms (each O(1)) in another order and
    # grouping (4 + 5 per rank, then across ranks): the difference is a few ulps of
    # the sum, ~9 * 2**-24 * |terms| < 1e-6 relative; 1e-5 leaves a 10x margin on any
    # CPU and thread count, far below a wrong label offset (which changes the loss by O(1)).
    mean_loss = (outs[0]['loss'] + outs[1]['loss']) / 2
    assert mean_loss.item() == pytest.approx(single.item(), rel=1e-5)
    for g0, g1, p in zip(outs[0]['grad'], outs[1]['grad'], layer.parameters()):
        torch.testing.assert_close(g0, g1, rtol=0, atol=0)  # DDP synchronised them
        # Same argument for the gradient sums (9 rows, O(1) entries).
        torch.testing.assert_close(g0, p.grad, rtol=1e-5, atol=1e-6)
