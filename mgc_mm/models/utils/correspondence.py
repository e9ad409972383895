"""Exact multi-grained correspondences between two overlapping crops (MGC spec §2).

Everything here is pure, batched and vectorised torch on integer tensors: no Python loop
over cells or samples, so the same call serves one sample in the data pipeline and a
whole batch on the accelerator.

Exactness. All cell edges are multiples of ``1 / L`` pixels, so every coordinate is kept
multiplied by ``L`` and stays an integer. Within one sample all view-1 cells have the
same area and all view-2 cells too, so the weight ``|a ∩ c| / (|a| + |c|)`` has the same
denominator for every candidate: ranking by weight is ranking by the integer
intersection area, with ties broken by generation order in the same integer key.

Speed. A view-1 anchor cell can only overlap the few view-2 columns (rows) whose span
meets its own, so instead of all ``L² × L²`` pairs each anchor looks at a window of
view-2 columns and rows whose size is the largest such span in the batch. Rows and
columns are separable, so the window is ``rows × cols`` of 1-D overlaps.
"""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch

# grain -> (pairs kept K, stride factors (rows, cols), row clamp, col clamp); spec §2.
GRAIN_DEFAULTS: Dict[int, dict] = {
    16: dict(num_pairs=10, stride_factors=(12, 8), row_clamp=(2, 8), col_clamp=(2, 6)),
    32: dict(num_pairs=10, stride_factors=(8, 4), row_clamp=(2, 4), col_clamp=(1, 3)),
    112: dict(num_pairs=2, stride_factors=(1, 1), row_clamp=(1, 1), col_clamp=(1, 1)),
}


class GrainCorrespondences(NamedTuple):
    """Selected pairs of one grain, each ``(N, K)``; valid slots come first."""

    idx1: torch.Tensor  # token index in view 1 (after its flip), long
    idx2: torch.Tensor  # token index in view 2 (after its flip), long
    weight: torch.Tensor  # |a ∩ c| / (|a| + |c|), float32, 0 where invalid
    valid: torch.Tensor  # bool


def _as_int_boxes(boxes: torch.Tensor, name: str) -> torch.Tensor:
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f'{name} must have shape (N, 4) as (x, y, w, h), '
                         f'got {tuple(boxes.shape)}')
    if boxes.is_floating_point():
        rounded = boxes.round()
        if not torch.equal(rounded, boxes):
            raise ValueError(f'{name} must hold integer pixel boxes')
        boxes = rounded
    boxes = boxes.long()
    if bool((boxes[:, 2:] <= 0).any()):
        raise ValueError(f'{name} has a box with non-positive width or height')
    return boxes


def _span_overlap(a0: torch.Tensor, a1: torch.Tensor, b0: torch.Tensor,
                  b1: torch.Tensor) -> torch.Tensor:
    """Length of the overlap of 1-D intervals ``[a0, a1)`` and ``[b0, b1)``."""
    return (torch.minimum(a1, b1) - torch.maximum(a0, b0)).clamp_(min=0)


def _anchor_axis(start1: torch.Tensor, size1: torch.Tensor, ov0: torch.Tensor,
                 ov1: torch.Tensor, stride: torch.Tensor, L: int):
    """Anchor positions on one axis of view 1, padded to the batch maximum.

    The overlap ``[ov0, ov1)`` (original pixels) expressed in view-1 cell units is
    ``first = floor((ov0 - start1) * L / size1)`` and
    ``last = ceil((ov1 - start1) * L / size1) - 1``, all in integers.

    Returns:
        positions ``(N, A)`` and their mask ``(N, A)``.
    """
    first = torch.div((ov0 - start1) * L, size1, rounding_mode='floor')
    last = -torch.div(-(ov1 - start1) * L, size1, rounding_mode='floor') - 1
    first = first.clamp(0, L - 1)
    last = last.clamp(max=L - 1)
    count = torch.where(last >= first,
                        torch.div(last - first, stride, rounding_mode='floor') + 1,
                        torch.zeros_like(first))
    num = max(int(count.max()), 1) if count.numel() else 1
    steps = torch.arange(num, device=first.device)
    pos = first[:, None] + steps[None] * stride[:, None]
    mask = steps[None] < count[:, None]
    return pos.clamp(max=L - 1), mask


def _window_axis(anchor: torch.Tensor, anchor_mask: torch.Tensor, start1: torch.Tensor,
                 size1: torch.Tensor, start2: torch.Tensor, size2: torch.Tensor,
                 L: int):
    """View-2 cells on one axis that can meet each view-1 anchor cell.

    Coordinates are scaled by ``L``: view-1 cell ``c`` spans
    ``[start1·L + c·size1, start1·L + (c+1)·size1)``.

    Returns:
        view-2 positions ``(N, A, W)``, their 1-D overlap lengths ``(N, A, W)``
        (0 where they do not meet or fall outside the grid).
    """
    lo1 = start1[:, None] * L + anchor * size1[:, None]
    hi1 = lo1 + size1[:, None]
    rel_lo = lo1 - start2[:, None] * L
    rel_hi = hi1 - start2[:, None] * L
    first2 = torch.div(rel_lo, size2[:, None], rounding_mode='floor').clamp(min=0)
    last2 = (-torch.div(-rel_hi, size2[:, None], rounding_mode='floor') - 1).clamp(max=L - 1)
    count = (last2 - first2 + 1).clamp(min=0).masked_fill(~anchor_mask, 0)
    num = max(int(count.max()), 1) if count.numel() else 1
    pos2 = first2[..., None] + torch.arange(num, device=anchor.device)
    lo2 = start2[:, None, None] * L + pos2 * size2[:, None, None]
    overlap = _span_overlap(lo1[..., None], hi1[..., None], lo2, lo2 + size2[:, None, None])
    overlap = overlap.masked_fill((pos2 > L - 1) | ~anchor_mask[..., None], 0)
    return pos2.clamp(max=L - 1), overlap


def grain_correspondences(boxes1: torch.Tensor,
                          boxes2: torch.Tensor,
                          flips1: torch.Tensor,
                          flips2: torch.Tensor,
                          grain: int,
                          view_size: int = 224,
                          num_pairs: Optional[int] = None,
                          stride_factors: Optional[Tuple[int, int]] = None,
                          row_clamp: Optional[Tuple[int, int]] = None,
                          col_clamp: Optional[Tuple[int, int]] = None
                          ) -> GrainCorrespondences:
    """Corresponding token pairs of two crops at one grain (MGC spec §2).

    Args:
        boxes1 (Tensor): ``(N, 4)`` view-1 crop boxes ``(x, y, w, h)`` in
            original-image pixels (integer values).
        boxes2 (Tensor): ``(N, 4)`` view-2 crop boxes.
        flips1 (Tensor): ``(N,)`` bool, whether view 1 was flipped horizontally.
        flips2 (Tensor): ``(N,)`` bool, whether view 2 was flipped horizontally.
        grain (int): cell size in pixels of the ``view_size`` view; ``view_size``
            must be a multiple of it.
        view_size (int): side of the square views. Defaults to 224.
        num_pairs (int, optional): pairs kept ``K``. Defaults to the spec's table
            (10, 10, 2 for grains 16, 32, 112).
        stride_factors (tuple, optional): ``(a_r, a_c)`` anchor stride factors.
        row_clamp (tuple, optional): ``(lo, hi)`` clamp of the row stride.
        col_clamp (tuple, optional): ``(lo, hi)`` clamp of the column stride.

    Returns:
        GrainCorrespondences: ``idx1``, ``idx2``, ``weight``, ``valid``, each
        ``(N, K)``, valid slots first in selection order (weight descending, ties
        by generation order: anchors row-major, then view-2 cells row-major).
    """
    if view_size % grain:
        raise ValueError(f'view_size {view_size} is not a multiple of grain {grain}')
    defaults = GRAIN_DEFAULTS.get(grain)
    given = (num_pairs, stride_factors, row_clamp, col_clamp)
    if defaults is None and any(v is None for v in given):
        raise ValueError(f'grain {grain} has no default constants (known: '
                         f'{sorted(GRAIN_DEFAULTS)}); pass num_pairs, '
                         'stride_factors, row_clamp and col_clamp')
    defaults = defaults or {}
    K = num_pairs if num_pairs is not None else defaults['num_pairs']
    a_r, a_c = stride_factors or defaults['stride_factors']
    (lo_r, hi_r), (lo_c, hi_c) = (row_clamp or defaults['row_clamp'],
                                  col_clamp or defaults['col_clamp'])
    L = view_size // grain

    b1 = _as_int_boxes(boxes1, 'boxes1')
    b2 = _as_int_boxes(boxes2, 'boxes2')
    if b1.shape != b2.shape:
        raise ValueError(f'boxes1 {tuple(b1.shape)} and boxes2 {tuple(b2.shape)} differ')
    N = b1.shape[0]
    device = b1.device
    flips1 = flips1.to(device=device, dtype=torch.bool).reshape(N)
    flips2 = flips2.to(device=device, dtype=torch.bool).reshape(N)
    x1, y1, w1, h1 = b1.unbind(-1)
    x2, y2, w2, h2 = b2.unbind(-1)

    # Overlap of the two crops in original pixels, and the exact strides.
    ox0, ox1 = torch.maximum(x1, x2), torch.minimum(x1 + w1, x2 + w2)
    oy0, oy1 = torch.maximum(y1, y2), torch.minimum(y1 + h1, y2 + h2)
    inter = (ox1 - ox0).clamp(min=0) * (oy1 - oy0).clamp(min=0)
    union = w1 * h1 + w2 * h2 - inter
    # floor(a * u) = floor(a * inter / union), exactly, in integers.
    s_r = torch.div(a_r * inter, union, rounding_mode='floor').clamp(lo_r, hi_r)
    s_c = torch.div(a_c * inter, union, rounding_mode='floor').clamp(lo_c, hi_c)

    # Anchor rows / cols of view 1; an empty overlap yields no anchors.
    has_overlap = inter > 0
    ar, ar_mask = _anchor_axis(y1, h1, oy0, oy1, s_r, L)
    ac, ac_mask = _anchor_axis(x1, w1, ox0, ox1, s_c, L)
    ar_mask &= has_overlap[:, None]
    ac_mask &= has_overlap[:, None]

    # View-2 windows per anchor row / col with 1-D overlap lengths (scaled by L).
    r2, oy = _window_axis(ar, ar_mask, y1, h1, y2, h2, L)  # (N, Ar, Wr)
    c2, ox = _window_axis(ac, ac_mask, x1, w1, x2, w2, L)  # (N, Ac, Wc)
    Ar, Wr = r2.shape[1:]
    Ac, Wc = c2.shape[1:]

    # Candidates (N, Ar, Ac, Wr, Wc): intersection area scaled by L².
    area = oy[:, :, None, :, None] * ox[:, None, :, None, :]
    # Generation order: anchor (row, col) row-major, then view-2 cell row-major.
    cell2 = r2[:, :, None, :, None] * L + c2[:, None, :, None, :]
    anchor_rank = (torch.arange(Ar, device=device)[:, None] * Ac
                   + torch.arange(Ac, device=device)[None])  # (Ar, Ac)
    gen = anchor_rank[None, :, :, None, None] * (L * L) + cell2
    span = Ar * Ac * L * L  # gen < span
    key = torch.where(area > 0, area * span + (span - 1 - gen), torch.full_like(area, -1))
    key = key.flatten(1)

    k = min(K, key.shape[1])
    top_key, top_pos = key.topk(k, dim=1, sorted=True)
    valid = top_key >= 0

    # Unravel the chosen flat positions into (ar, ac, wr, wc).
    wc_i = top_pos % Wc
    wr_i = (top_pos // Wc) % Wr
    ac_i = (top_pos // (Wc * Wr)) % Ac
    ar_i = top_pos // (Wc * Wr * Ac)
    row1 = ar.gather(1, ar_i)
    col1 = ac.gather(1, ac_i)
    row2 = r2.flatten(1).gather(1, ar_i * Wr + wr_i)
    col2 = c2.flatten(1).gather(1, ac_i * Wc + wc_i)
    col1 = torch.where(flips1[:, None], L - 1 - col1, col1)
    col2 = torch.where(flips2[:, None], L - 1 - col2, col2)
    idx1 = (row1 * L + col1).masked_fill(~valid, 0)
    idx2 = (row2 * L + col2).masked_fill(~valid, 0)
    # Exact ratio of integers, rounded once (|a| + |c| in the same L²-scaled units).
    denom = (w1 * h1 + w2 * h2).to(torch.float64)[:, None]
    weight = torch.div(top_key, span, rounding_mode='floor').clamp(min=0)
    weight = (weight.to(torch.float64) / denom).to(torch.float32)

    if k < K:  # fewer candidate slots than pairs to keep: pad as invalid
        pad = K - k
        idx1 = torch.nn.functional.pad(idx1, (0, pad))
        idx2 = torch.nn.functional.pad(idx2, (0, pad))
        weight = torch.nn.functional.pad(weight, (0, pad))
        valid = torch.nn.functional.pad(valid, (0, pad), value=False)
    return GrainCorrespondences(idx1, idx2, weight, valid)


def sample_correspondences(data_samples: Sequence, grain: int, device: torch.device,
                           view_size: int = 224, **kwargs) -> GrainCorrespondences:
    """:func:`grain_correspondences` of a batch from its packed ``crop_boxes`` / ``crop_flips``.

    Computed on the host, where the packed boxes are (~40 us a sample, batched), while
    the device works, then moved to ``device``: on a GPU this costs the training step
    no device-to-host sync (the argument checks run on host tensors).
    """
    boxes = torch.stack([torch.as_tensor(s.crop_boxes).cpu() for s in data_samples])
    flips = torch.stack([torch.as_tensor(s.crop_flips).cpu() for s in data_samples])
    out = grain_correspondences(boxes[:, 0], boxes[:, 1], flips[:, 0], flips[:, 1], grain,
                                view_size=view_size, **kwargs)
    return GrainCorrespondences(*(t.to(device, non_blocking=True) for t in out))
