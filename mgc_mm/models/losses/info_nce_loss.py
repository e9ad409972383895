from typing import Optional, Tuple

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


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """InfoNCE between queries and the keys of every rank (MGC spec §4).

    ``logits = normalize(q) · normalize(K_all)ᵀ / τ`` with ``K_all`` the keys gathered
    from all ranks; the positive of query ``i`` is its own key, at row ``offset + i``
    of ``K_all``. The loss is normalised by the *global* row count (or weight sum), and
    multiplied by the world size so that DDP's gradient averaging over ranks gives
    exactly the value and gradients of one process on the concatenated batch.

    Args:
        temperature (float): τ. Defaults to 0.1.
        reduction (str): ``'mean'`` over rows or ``'iou_weighted'``
            (``Σ w·CE / Σ w``). Defaults to 'mean'.
    """

    def __init__(self, temperature: float = 0.1, reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in ('mean', 'iou_weighted'):
            raise ValueError(f"reduction must be 'mean' or 'iou_weighted', got {reduction!r}")
        self.temperature = temperature
        self.reduction = reduction

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """
        Args:
            query (Tensor): ``(M, D)`` local queries (with gradient).
            key (Tensor): ``(M, D)`` local keys, row ``i`` positive of query ``i``.
            weight (Tensor, optional): ``(M,)`` row weights for ``'iou_weighted'``.
        """
        # Logits in fp32: at τ = 0.1 half precision loses the softmax tail.
        q = F.normalize(query.float(), dim=1)
        k = F.normalize(key.detach().float(), dim=1)
        k_all, offset, total = gather_rows(k)
        labels = torch.arange(q.shape[0], device=q.device) + offset
        ce = F.cross_entropy(q @ k_all.t() / self.temperature, labels, reduction='none')
        world_size = dist.get_world_size()
        if self.reduction == 'mean':
            return ce.sum() * (world_size / max(total, 1))
        if weight is None:
            raise ValueError("reduction 'iou_weighted' needs the row weights")
        weight = weight.float()
        w_total = gather_rows(weight)[0].sum() if world_size > 1 else weight.sum()
        return (weight * ce).sum() * world_size / w_total.clamp(min=torch.finfo(torch.float32).tiny)
