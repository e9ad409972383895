"""Montages of downsampled views for MCL (``specs/mcl.md`` §2).

A montage of grid ``r`` tiles ``r × r`` views, each downsampled by ``r``, into one image
of the views' size. Cell ``t`` of a montage (row-major) holds the view of image
``labels[m * r² + t]``; :func:`split_tiles` cuts a montage, or a feature map of it, back
into its cells in the same order.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

DOWNSAMPLE_MODES = ('nearest', 'area')


def downsample_views(images: torch.Tensor, factor: int, mode: str = 'nearest') -> torch.Tensor:
    """Downsample ``(..., H, W)`` images by an integer ``factor`` dividing ``H`` and ``W``.

    ``'nearest'`` (the paper's): pixel ``(y, x)`` of the result is pixel
    ``(factor·y, factor·x)`` of the input, exactly (the same pixels as
    ``F.interpolate(mode='nearest')``, without the arithmetic). ``'area'``: the mean of
    each ``factor × factor`` block (an antialiased alternative, not the default).
    """
    if mode not in DOWNSAMPLE_MODES:
        raise ValueError(f'mode must be one of {DOWNSAMPLE_MODES}, got {mode!r}')
    factor = int(factor)
    if factor < 1:
        raise ValueError(f'factor must be >= 1, got {factor}')
    h, w = images.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f'image size {h}x{w} is not divisible by {factor}')
    if factor == 1:
        return images
    if mode == 'nearest':
        return images[..., ::factor, ::factor]
    lead = images.shape[:-2]
    out = F.avg_pool2d(images.reshape(-1, 1, h, w), factor)
    return out.reshape(*lead, h // factor, w // factor)


def split_tiles(x: torch.Tensor, grid: int) -> torch.Tensor:
    """Cut ``(B, C, grid·s, grid·t)`` into its ``grid²`` tiles per image.

    Returns ``(B·grid², C, s, t)``: tile ``b·grid² + t`` is row ``t // grid``, column
    ``t % grid`` of image ``b``, the inverse of the assembly in :func:`build_montages`.
    """
    b, c, h, w = x.shape
    if h % grid or w % grid:
        raise ValueError(f'map size {h}x{w} is not divisible by grid {grid}')
    if grid == 1:
        return x
    s, t = h // grid, w // grid
    return x.reshape(b, c, grid, s, grid, t).permute(0, 2, 4, 1, 3, 5).reshape(
        b * grid * grid, c, s, t)


def build_montages(images: torch.Tensor,
                   grid: int,
                   num_montages: int,
                   mode: str = 'nearest',
                   generator: Optional[torch.Generator] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Tile downsampled ``images`` into ``num_montages`` montages of ``grid × grid`` cells.

    The ``grid²·M`` cells take the images ``perm(grid²·M) mod N`` (a random permutation
    of the cells, reduced modulo the batch size ``N``), so every image fills the same
    number of cells, ``grid²·M / N``, when that is an integer.

    Args:
        images (Tensor): ``(N, C, H, W)``, ``H`` and ``W`` divisible by ``grid``.
        grid (int): ``r``; each image is downsampled by ``r``.
        num_montages (int): ``M``.
        mode (str): :func:`downsample_views` mode. Defaults to 'nearest'.
        generator (torch.Generator, optional): for the permutation, on the images'
            device; the global generator of that device by default.

    Returns:
        tuple: montages ``(M, C, H, W)`` (no gradient to the images is intended: call
        under ``torch.no_grad()`` where it matters) and labels ``(M·r²,)`` int64, the
        source image of each cell, montage-major then row-major.
    """
    n, c, h, w = images.shape
    if n < 1 or num_montages < 1:
        raise ValueError(f'need images and montages, got N={n}, M={num_montages}')
    small = downsample_views(images, grid, mode)
    cells = grid * grid * num_montages
    labels = torch.randperm(cells, generator=generator, device=images.device) % n
    tiles = small[labels]
    sh, sw = small.shape[-2:]
    montages = tiles.reshape(num_montages, grid, grid, c, sh, sw).permute(
        0, 3, 1, 4, 2, 5).reshape(num_montages, c, h, w)
    return montages, labels


def montage_counts(batch_size: int, grids: Sequence[int],
                   cells_per_image: Sequence[float]) -> List[int]:
    """Montages per level for a local batch of ``N`` images.

    Level ``i`` gets ``M_i = max(1, ceil(c_i · N / r_i²))`` montages, at least ``c_i``
    cells per image; a level of grid 1 takes the ``N`` views themselves. The reference
    per-GPU sizes (N = 128, grids (1, 2, 4, 8), c = (1, 1, 1, 2)) give (128, 32, 8, 4).
    """
    if len(grids) != len(cells_per_image):
        raise ValueError(f'{len(grids)} grids but {len(cells_per_image)} cells_per_image')
    out = []
    for r, c in zip(grids, cells_per_image):
        if r == 1:
            out.append(int(batch_size))
        else:
            out.append(max(1, math.ceil(c * batch_size / (r * r) - 1e-9)))
    return out
