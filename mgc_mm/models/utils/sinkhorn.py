"""Sinkhorn-Knopp balanced assignment over every rank's rows (DSC-PM)."""
import torch
from mmengine import dist


def _all_reduce(t: torch.Tensor, op: str = 'sum') -> torch.Tensor:
    if dist.get_world_size() > 1:
        dist.all_reduce(t, op=op)
    return t


@torch.no_grad()
def sinkhorn(scores: torch.Tensor, num_iters: int = 3, epsilon: float = 0.05) -> torch.Tensor:
    """Soft assignments of rows to ``K`` prototypes, balanced over *all* rows given.

    SwAV's Sinkhorn-Knopp: ``Q = exp(scores / ε)``, alternately scaled so that every
    prototype carries ``1 / K`` of the total mass and every row ``1 / B``; returned
    with rows summing to 1. Collective: the total mass, the per-prototype sums and
    the row count ``B`` are all-reduced over ranks, so the result equals one process
    on the concatenated rows of every rank.

    Differences from mmpretrain's ``distributed_sinkhorn`` (``losses/swav_loss.py``):

    * It is meant to be called **once on the rows of both branches** (both views)
      concatenated; SwAV's loss calls mmpretrain's once per crop, so its balance holds
      within one view's batch only and the two views are balanced separately.
    * ``B`` is the all-reduced row count, not ``local rows × world size`` (which is
      wrong when ranks hold different numbers of rows, e.g. a last partial batch).
    * The per-prototype sums are all-reduced in every iteration (mmpretrain's reduces
      them only inside its zero-sum fallback branch, so without it each rank balances
      its own prototype sums against its local mass).
    * ``scores / ε`` is shifted by its global maximum before ``exp`` (the factor
      cancels in the first normalisation; without it ``exp`` overflows for
      ``scores / ε > 88`` in fp32), and empty prototype sums are clamped, not bumped.

    Args:
        scores (Tensor): ``(N_r, K)`` local rows, e.g. cosine similarities of
            features and prototypes.
        num_iters (int): Sinkhorn iterations. Defaults to 3 (SwAV).
        epsilon (float): entropic regularisation ε. Defaults to 0.05 (SwAV).

    Returns:
        Tensor: ``(N_r, K)`` fp32, each row sums to 1; over all ranks each column
        sums to ``B / K`` after the last prototype scaling (up to the final row step).
    """
    logits = scores.detach().float() / epsilon
    peak = _all_reduce(logits.max().reshape(1) if logits.numel() else
                       logits.new_full((1, ), -float('inf')), op='max')
    q = torch.exp(logits - peak).t()  # (K, N_r): SwAV's layout
    num_protos = q.shape[0]
    count = _all_reduce(torch.tensor([float(q.shape[1])], device=q.device))
    q /= _all_reduce(q.sum().reshape(1)).clamp(min=torch.finfo(q.dtype).tiny)
    for _ in range(num_iters):
        # Each prototype: total mass 1 / K over every row of every rank.
        rows = _all_reduce(q.sum(dim=1, keepdim=True))
        q /= rows.clamp(min=torch.finfo(q.dtype).tiny)
        q /= num_protos
        # Each row (local): mass 1 / B.
        q /= q.sum(dim=0, keepdim=True).clamp(min=torch.finfo(q.dtype).tiny)
        q /= count
    return (q * count).t()
