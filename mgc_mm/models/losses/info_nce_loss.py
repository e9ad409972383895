from typing import NamedTuple, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine import dist
from torch import nn

from mgc_mm.registry import MODELS


def gather_rows(x: torch.Tensor) -> Tuple[torch.Tensor, int, int]:
    """Concatenate ``x`` ``(M_r, ...)`` from every rank, whatever each ``M_r`` is.

    Returns:
        the concatenation in rank order, this rank's row offset in it, and the
        total row count. No gradient flows through the gathered rows.
    """
    world_size = dist.get_world_size()
    if world_size == 1:
        return x, 0, x.shape[0]
    count = torch.tensor([x.shape[0]], device=x.device)
    counts = [int(c) for c in dist.all_gather(count)]
    pad = max(counts) - x.shape[0]
    padded = F.pad(x, [0, 0] * (x.dim() - 1) + [0, pad]) if pad else x
    parts = dist.all_gather(padded.contiguous())
    gathered = torch.cat([p[:c] for p, c in zip(parts, counts)])
    rank = dist.get_rank()
    return gathered, sum(counts[:rank]), sum(counts)


class GatheredKeys(NamedTuple):
    """Keys of every rank, normalised and concatenated (:meth:`InfoNCELoss.gather_keys`).

    ``keys`` ``(K_all, D)`` fp32 without gradient; this rank's ``count`` keys start at
    row ``offset``; ``total`` = ``K_all``.
    """
    keys: torch.Tensor
    offset: int
    count: int
    total: int


def global_count(n: int, device: torch.device) -> int:
    """``n`` summed over the ranks."""
    if dist.get_world_size() == 1:
        return int(n)
    t = torch.tensor([n], device=device)
    dist.all_reduce(t, op='sum')
    return int(t.item())


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """InfoNCE between queries and the keys of every rank (MGC spec §4, MCL spec §4).

    ``logits = normalize(q) · normalize(K_all)ᵀ / τ`` with ``K_all`` the keys gathered
    from all ranks. The positive of query ``i`` is its own key, at row ``offset + i``
    of ``K_all``, or, given ``labels``, the local key ``labels[i]``, at row
    ``offset + labels[i]`` (queries and keys may then differ in number, as MCL's
    montage cells and their source images do). The loss is normalised by the *global*
    query count (or weight sum), multiplied by ``loss_weight``, and by the world size
    so that DDP's gradient averaging over ranks gives exactly the value and gradients
    of one process on the concatenated batch.

    With a ``queue`` (MoCo / Mugs IDS and LGDS), row ``i`` is contrasted with its own
    key only and the queue rows instead: ``logits_i = [q_i·k_i, q_i·Qᵀ] / τ``, label
    0; the keys are not gathered (the queue holds all ranks' past keys).

    Args:
        temperature (float): τ. Defaults to 0.1.
        reduction (str): ``'mean'`` over rows or ``'iou_weighted'``
            (``Σ w·CE / Σ w``). Defaults to 'mean'.
        loss_weight (float): factor on the loss (MCL's ``2τ``). Defaults to 1.
    """

    def __init__(self, temperature: float = 0.1, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('mean', 'iou_weighted'):
            raise ValueError(f"reduction must be 'mean' or 'iou_weighted', got {reduction!r}")
        self.temperature = temperature
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    @torch.no_grad()
    def gather_keys(self, key: torch.Tensor) -> GatheredKeys:
        """Normalise and gather ``(K, D)`` local keys once, for several :meth:`forward`."""
        k = F.normalize(key.detach().float(), dim=1)
        k_all, offset, total = gather_rows(k)
        return GatheredKeys(k_all, offset, k.shape[0], total)

    def forward(self, query: torch.Tensor, key: Union[torch.Tensor, GatheredKeys],
                weight: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None,
                queue: Optional[torch.Tensor] = None) -> torch.Tensor:
        """
        Args:
            query (Tensor): ``(M, D)`` local queries (with gradient).
            key (Tensor | GatheredKeys): ``(K, D)`` local keys, or all ranks' keys from
                :meth:`gather_keys`. Without ``labels``, ``K = M`` and row ``i`` is
                the positive of query ``i``.
            weight (Tensor, optional): ``(M,)`` row weights for ``'iou_weighted'``.
            labels (Tensor, optional): ``(M,)`` index of each query's positive among
                this rank's keys.
            queue (Tensor, optional): ``(L, D)`` negatives, used as given (unit rows,
                e.g. a snapshot of a :class:`FeatureQueue`); ``key`` is then ``(M, D)``
                local keys, row ``i`` the positive of query ``i``.
        """
        # Logits in fp32: at τ = 0.1 half precision loses the softmax tail.
        q = F.normalize(query.float(), dim=1)
        if queue is not None:
            if labels is not None or isinstance(key, GatheredKeys):
                raise ValueError('with a queue the positives are the rows of a local key '
                                 'tensor: no labels, no gathered keys')
            if key.shape != q.shape:
                raise ValueError(f'{tuple(q.shape)} queries but {tuple(key.shape)} keys')
            k = F.normalize(key.detach().float(), dim=1)
            logits = torch.cat([(q * k).sum(1, keepdim=True),
                                q @ queue.detach().float().t()], dim=1)
            labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
            total = global_count(q.shape[0], q.device) if self.reduction == 'mean' else 0
            ce = F.cross_entropy(logits / self.temperature, labels, reduction='none')
            return self._reduce(ce, total, weight)
        keys = key if isinstance(key, GatheredKeys) else self.gather_keys(key)
        if labels is None:
            if q.shape[0] != keys.count:
                raise ValueError(f'{q.shape[0]} queries but {keys.count} keys: pass `labels` '
                                 'to pair queries with keys')
            labels = torch.arange(q.shape[0], device=q.device)
            total = keys.total  # as many queries as keys on every rank
        else:
            if labels.shape != (q.shape[0], ):
                raise ValueError(f'labels of shape {tuple(labels.shape)} for {q.shape[0]} '
                                 'queries')
            total = global_count(q.shape[0], q.device) if self.reduction == 'mean' else 0
        labels = labels.to(q.device, torch.long) + keys.offset
        ce = F.cross_entropy(q @ keys.keys.t() / self.temperature, labels, reduction='none')
        return self._reduce(ce, total, weight)

    def _reduce(self, ce: torch.Tensor, total: int,
                weight: Optional[torch.Tensor]) -> torch.Tensor:
        # ``total``: the global query count (reduction 'mean').
        world_size = dist.get_world_size()
        if self.reduction == 'mean':
            return ce.sum() * (self.loss_weight * world_size / max(total, 1))
        if weight is None:
            raise ValueError("reduction 'iou_weighted' needs the row weights")
        weight = weight.float()
        w_total = gather_rows(weight)[0].sum() if world_size > 1 else weight.sum()
        return (weight * ce).sum() * (self.loss_weight * world_size) / w_total.clamp(
            min=torch.finfo(torch.float32).tiny)
