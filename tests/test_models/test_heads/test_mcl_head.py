"""MCL's loss (specs/mcl.md §4): against NumPy, and over 2 gloo ranks."""
import os
import socket
import tempfile

import numpy as np
import pytest
import torch

from mgc_mm.models.heads import MCLHead
from mgc_mm.models.losses import InfoNCELoss

D = 8
PRED = dict(type='NonLinearNeck', in_channels=D, hid_channels=12, out_channels=D,
            num_layers=2, with_bias=True, with_last_bias=True, with_last_bn=False,
            with_avg_pool=False, norm_cfg=dict(type='BN1d'))


def make_head(seed=0):
    torch.manual_seed(seed)
    head = MCLHead(predictor=PRED)  # tau = 1, loss_weight = 2 tau, weights 1/2 .. 1/8
    with torch.no_grad():  # BN affine away from (1, 0) so that it is exercised
        for p in head.predictors:
            p.bn0.weight.uniform_(0.5, 1.5)
            p.bn0.bias.uniform_(-0.5, 0.5)
    return head


def problem(n=(4, ), cells=((4, 6, 8, 16), ), seed=0):
    """Per rank r: targets (n_r, D) per side, per level and side cells with labels."""
    g = torch.Generator().manual_seed(seed)
    ranks = []
    for n_r, c_r in zip(n, cells):
        targets = tuple(torch.randn(n_r, D, generator=g) for _ in range(2))
        online = [tuple(torch.randn(c, D, generator=g) for _ in range(2)) for c in c_r]
        labels = [tuple(torch.randint(0, n_r, (c, ), generator=g) for _ in range(2))
                  for c in c_r]
        ranks.append((online, labels, targets))
    return ranks


def numpy_loss(head, online, labels, targets, train=True, per_level=False):
    """The spec's loss in float64 NumPy from the head's weights: per level and side
    ``loss_weight · CE(q·Tᵀ/τ)`` (``loss_weight = 2τ``), level weights 1/2 .. 1/8."""
    tau, scale = head.loss_module.temperature, head.loss_module.loss_weight
    levels = []
    for i, (pred, w) in enumerate(zip(head.predictors, (0.5, 0.25, 0.125, 0.125))):
        levels.append(0.)
        P = {k: v.detach().double().numpy() for k, v in pred.state_dict().items()}
        for side in (0, 1):
            z = online[i][side].double().numpy()
            h = z @ P['fc0.weight'].T + P['fc0.bias']
            if train:  # batch statistics, biased variance
                mean, var = h.mean(0), h.var(0)
            else:
                mean, var = P['bn0.running_mean'], P['bn0.running_var']
            h = (h - mean) / np.sqrt(var + 1e-5) * P['bn0.weight'] + P['bn0.bias']
            h = np.maximum(h, 0)
            q = h @ P['fc1.weight'].T + P['fc1.bias']
            q = q / np.linalg.norm(q, axis=1, keepdims=True)
            t = targets[1 - side].double().numpy()
            t = t / np.linalg.norm(t, axis=1, keepdims=True)
            logits = q @ t.T / tau
            lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
            y = labels[i][side].numpy()
            ce = lse - logits[np.arange(len(y)), y]
            levels[-1] += w * scale * ce.mean()
    return levels if per_level else sum(levels)


def test_loss_equals_numpy():
    head = make_head()
    online, labels, targets = problem()[0]
    losses = head.loss(online, labels, targets)
    assert set(losses) == {f'loss_level{i}' for i in range(4)}
    assert head.loss_module.temperature == 1.0 and head.loss_module.loss_weight == 2.0
    ref = numpy_loss(head, online, labels, targets, per_level=True)
    # float32 against float64: O(1) terms, sums of <= 16 products, ~1e-6 relative;
    # a wrong label, side or weight changes the loss by O(0.1).
    for i in range(4):
        assert losses[f'loss_level{i}'].item() == pytest.approx(ref[i], rel=1e-5), i


def test_queries_get_gradients_targets_none():
    head = make_head()
    online, labels, targets = problem()[0]
    online = [tuple(z.clone().requires_grad_() for z in lv) for lv in online]
    targets = tuple(t.clone().requires_grad_() for t in targets)
    sum(head.loss(online, labels, targets).values()).backward()
    assert all(z.grad is not None and z.grad.abs().sum() > 0 for lv in online for z in lv)
    assert all(t.grad is None for t in targets)
    for p in head.parameters():
        assert p.grad is not None


def test_labels_mode_of_info_nce():
    torch.manual_seed(0)
    q, k = torch.randn(6, 4), torch.randn(3, 4)
    labels = torch.tensor([0, 2, 1, 1, 0, 2])
    loss = InfoNCELoss(0.5, loss_weight=3.0)
    ref = torch.nn.functional.cross_entropy(
        torch.nn.functional.normalize(q, dim=1) @ torch.nn.functional.normalize(k, dim=1).t()
        / 0.5, labels)
    assert loss(q, k, labels=labels).item() == pytest.approx(3 * ref.item(), rel=1e-6)
    # pre-gathered keys give the same
    assert loss(q, loss.gather_keys(k), labels=labels).item() == pytest.approx(
        3 * ref.item(), rel=1e-6)
    with pytest.raises(ValueError, match='labels'):
        loss(q, k)


# ------------------------------------------------------------------- two gloo ranks
N_RANKS = (3, 5)  # unequal local batches
CELLS = ((3, 4, 6, 8), (5, 6, 8, 16))


class Model(torch.nn.Module):
    """A linear encoder of the cells in front of the head, so that DDP has gradients
    upstream of the predictors too."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(5)
        self.enc = torch.nn.Linear(D, D)
        with torch.no_grad():
            self.enc.weight.copy_(torch.randn(D, D, generator=g) / 3)
            self.enc.bias.copy_(torch.randn(D, generator=g) / 3)
        self.head = make_head()
        # Eval mode: BN with its running statistics. In train mode each rank would
        # normalise with its own batch statistics (DDP without SyncBN), a different
        # function from one process on the whole batch; the gather and the label
        # offsets under test are the same either way.
        self.head.eval()

    def forward(self, online, labels, targets):
        online = [tuple(self.enc(z) for z in lv) for lv in online]
        return sum(self.head.loss(online, labels, targets).values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _dist_worker(rank, world_size, port, out_dir):
    import torch.distributed as tdist
    from torch.nn.parallel import DistributedDataParallel as DDP
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    tdist.init_process_group('gloo', rank=rank, world_size=world_size)
    model = DDP(Model())
    online, labels, targets = problem(N_RANKS, CELLS)[rank]
    loss = model(online, labels, targets)
    loss.backward()
    grads = {n: p.grad for n, p in model.module.named_parameters()}
    torch.save(dict(loss=loss.detach(), grad=grads), os.path.join(out_dir, f'rank{rank}.pth'))
    tdist.destroy_process_group()


def concatenated():
    """One process on the union: rank 1's labels shifted by rank 0's batch."""
    ranks = problem(N_RANKS, CELLS)
    offsets = (0, N_RANKS[0])
    targets = tuple(torch.cat([r[2][s] for r in ranks]) for s in range(2))
    online = [tuple(torch.cat([r[0][i][s] for r in ranks]) for s in range(2)) for i in range(4)]
    labels = [tuple(torch.cat([r[1][i][s] + o for r, o in zip(ranks, offsets)])
                    for s in range(2)) for i in range(4)]
    return online, labels, targets


def test_two_rank_gather_equals_one_process():
    model = Model()
    online, labels, targets = concatenated()
    single = model(online, labels, targets)
    single.backward()
    # NumPy agrees with the single process in eval mode too
    enc = [tuple(model.enc(z).detach() for z in lv) for lv in online]
    assert single.item() == pytest.approx(
        numpy_loss(model.head, enc, labels, targets, train=False), rel=1e-5)
    with tempfile.TemporaryDirectory() as d:
        torch.multiprocessing.spawn(_dist_worker, args=(2, _free_port(), d), nprocs=2,
                                    join=True)
        outs = [torch.load(os.path.join(d, f'rank{r}.pth')) for r in range(2)]
    # DDP averages the gradients over ranks; the loss it optimises is the rank mean.
    # Both sides sum the same float32 terms (O(1) each, at most 24 per level and side)
    # in another order and grouping: a few ulps of the sum, < 1e-6 relative; 1e-5
    # leaves a 10x margin on any CPU and thread count, far below a wrong label offset
    # or normalisation (which change the loss by O(0.1)).
    mean_loss = (outs[0]['loss'] + outs[1]['loss']) / 2
    assert mean_loss.item() == pytest.approx(single.item(), rel=1e-5)
    for n, p in model.named_parameters():
        torch.testing.assert_close(outs[0]['grad'][n], outs[1]['grad'][n], rtol=0, atol=0)
        # Same argument for the gradient sums; atol for entries that cancel to ~0.
        torch.testing.assert_close(outs[0]['grad'][n], p.grad, rtol=1e-5, atol=1e-6)
