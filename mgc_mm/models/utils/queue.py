from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..losses.info_nce_loss import gather_rows


class FeatureQueue(nn.Module):
    """A first-in first-out bank of ``length`` feature rows, shared by all ranks.

    Used as the negative queue of a queue InfoNCE (Mugs IDS / LGDS) and as a
    nearest-neighbour memory (Mugs LGDS). Every rank enqueues the rows of all ranks
    (gathered in rank order with :func:`gather_rows`), so the banks stay equal on all
    ranks and equal to the bank of one process that sees the concatenated batch.

    Departures from the Mugs reference (``specs/mugs.md`` §5): the rows are
    L2-normalised noise at init (the reference's memory starts as unnormalised noise),
    and the pointer advances by the number of rows written (the reference's memory
    advances by twice that and skips rows). Writes wrap around the end; a call with
    more than ``length`` rows keeps the newest ``length``, as writing them one by one
    would.

    Args:
        dim (int): row width.
        length (int): number of rows.
        normalize (bool): L2-normalise the enqueued rows (a queue of unit targets);
            False stores them as given (a memory of features). Defaults to True.
    """

    def __init__(self, dim: int, length: int, normalize: bool = True) -> None:
        super().__init__()
        if dim < 1 or length < 1:
            raise ValueError(f'dim and length must be >= 1, got {dim} and {length}')
        self.dim = dim
        self.length = length
        self.normalize = normalize
        self.register_buffer('queue', F.normalize(torch.randn(length, dim), dim=1))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return f'dim={self.dim}, length={self.length}, normalize={self.normalize}'

    @torch.no_grad()
    def clone(self) -> torch.Tensor:
        """A snapshot of the rows ``(length, dim)``, unaffected by later enqueues."""
        return self.queue.clone()

    @torch.no_grad()
    def enqueue(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> int:
        """Write the rows of every rank (``mask``: only those where it is True).

        Collective: all ranks must call it, each with its local ``(N_r, dim)`` rows
        (``N_r`` may differ) and, if any rank passes one, a ``(N_r,)`` mask.

        Returns:
            int: the number of rows written (over all ranks).
        """
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f'expected rows of width {self.dim}, got {tuple(x.shape)}')
        x = x.detach().to(self.queue.dtype)
        if mask is None:
            rows = gather_rows(x)[0]
        else:
            if mask.shape != (x.shape[0], ):
                raise ValueError(f'mask of shape {tuple(mask.shape)} for {x.shape[0]} rows')
            # One collective for rows and flags together.
            packed = torch.cat([x, mask.to(x)[:, None]], dim=1)
            packed = gather_rows(packed)[0]
            rows = packed[packed[:, -1] > 0.5, :-1]
        if self.normalize:
            rows = F.normalize(rows, dim=1)
        n = rows.shape[0]
        if n == 0:
            return 0
        # The pointer stays on the device: no host sync per enqueue.
        idx = (self.ptr + torch.arange(n, device=rows.device)) % self.length
        keep = min(n, self.length)
        self.queue[idx[-keep:]] = rows[-keep:]
        self.ptr.add_(n).remainder_(self.length)
        return n

    @torch.no_grad()
    def nearest(self, query: torch.Tensor, k: int) -> torch.Tensor:
        """The ``k`` rows of highest cosine similarity to each query, most similar
        first: ``(N, k, dim)`` for ``(N, dim)`` queries, without gradient."""
        if not 1 <= k <= self.length:
            raise ValueError(f'k must be in [1, {self.length}], got {k}')
        # fp32 ranking: under AMP half-precision similarities tie and reorder.
        sim = F.normalize(query.detach().float(), dim=1) @ F.normalize(
            self.queue.float(), dim=1).t()
        idx = sim.topk(k, dim=1).indices
        return self.queue[idx]
