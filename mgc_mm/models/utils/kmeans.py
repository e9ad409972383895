"""k-means on the device, and its rank-identical distributed form (DSC spec)."""
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine import dist

from ..losses.info_nce_loss import gather_rows

KMEANS_METRICS = ('cosine', 'euclidean')
KMEANS_INITS = ('kmeans++', 'random')


def _distances(x: torch.Tensor, centroids: torch.Tensor, metric: str) -> torch.Tensor:
    """``(N, C)`` distances; cosine expects unit rows on both sides."""
    if metric == 'cosine':
        return 1. - x @ centroids.t()
    # ||x||² - 2 x·c + ||c||², clamped: the expansion can dip below 0 in float.
    return ((x * x).sum(1, keepdim=True) - 2. * x @ centroids.t() +
            (centroids * centroids).sum(1)[None]).clamp_(min=0)


def _init_centroids(x: torch.Tensor, num_clusters: int, init: str, metric: str,
                    generator: Optional[torch.Generator]) -> torch.Tensor:
    n = x.shape[0]
    if init == 'random':
        return x[torch.randperm(n, generator=generator, device=x.device)[:num_clusters]].clone()
    # k-means++: each next centre drawn with probability ∝ its squared distance to
    # the nearest centre so far. One draw per centre, no host sync.
    first = torch.randint(n, (1, ), generator=generator, device=x.device)
    centroids = x.new_empty(num_clusters, x.shape[1])
    centroids[0] = x[first[0]]
    d2 = _distances(x, centroids[:1], metric)[:, 0].clamp_(min=0).square()
    for i in range(1, num_clusters):
        # + tiny: multinomial needs a positive sum even if every row is a centre.
        idx = torch.multinomial(d2 + 1e-12, 1, generator=generator)
        centroids[i] = x[idx[0]]
        d2 = torch.minimum(d2, _distances(x, centroids[i:i + 1], metric)[:, 0].square())
    return centroids


@torch.no_grad()
def kmeans(x: torch.Tensor,
           num_clusters: int,
           num_iters: int = 10,
           metric: str = 'cosine',
           init: str = 'kmeans++',
           generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means of the rows of ``x``, all on ``x``'s device, no Python loop over
    rows (one small loop over centres for the k-means++ draw).

    The centroid update is a one-hot matmul rather than a scatter-add: a matmul gives
    the same sums every time on the same device, atomics do not. An empty cluster keeps
    its previous centroid (as mmpretrain's ``kmeans``).

    Args:
        x (Tensor): ``(N, D)`` rows (fp32 is used internally).
        num_clusters (int): ``C <= N``.
        num_iters (int): Lloyd iterations after the init. Defaults to 10.
        metric (str): ``'cosine'`` (rows and centroids L2-normalised, the spherical
            k-means that suits contrastive features) or ``'euclidean'``.
        init (str): ``'kmeans++'`` or ``'random'`` (C distinct rows).
        generator (torch.Generator, optional): on ``x``'s device; the same seed
            gives the same result for the same ``x``.

    Returns:
        tuple: centroids ``(C, D)`` fp32 and labels ``(N,)`` long (nearest centroid
        after the last update).
    """
    if metric not in KMEANS_METRICS:
        raise ValueError(f'metric must be one of {KMEANS_METRICS}, got {metric!r}')
    if init not in KMEANS_INITS:
        raise ValueError(f'init must be one of {KMEANS_INITS}, got {init!r}')
    if x.dim() != 2:
        raise ValueError(f'expected (N, D) rows, got {tuple(x.shape)}')
    if not 1 <= num_clusters <= x.shape[0]:
        raise ValueError(f'num_clusters must be in [1, {x.shape[0]}] (the number of rows), '
                         f'got {num_clusters}')
    x = x.float()
    if metric == 'cosine':
        x = F.normalize(x, dim=1)
    centroids = _init_centroids(x, num_clusters, init, metric, generator)
    for _ in range(num_iters):
        labels = _distances(x, centroids, metric).argmin(1)
        onehot = F.one_hot(labels, num_clusters).to(x.dtype)
        counts = onehot.sum(0)
        means = (onehot.t() @ x) / counts.clamp(min=1)[:, None]
        if metric == 'cosine':
            means = F.normalize(means, dim=1)
        centroids = torch.where(counts[:, None] > 0, means, centroids)
    return centroids, _distances(x, centroids, metric).argmin(1)


class DistributedKMeans(NamedTuple):
    """Result of :func:`distributed_kmeans`."""
    centroids: torch.Tensor  # (C, D), equal on every rank
    labels: torch.Tensor  # (N_r,) this rank's rows
    all_labels: torch.Tensor  # (N_all,) every rank's rows, in rank order
    offset: int  # this rank's first row in all_labels


def shared_seed(device: torch.device) -> int:
    """A seed drawn from rank 0's torch RNG and broadcast, so that it follows the
    run's ``randomness.seed`` and is the same on every rank."""
    seed = torch.randint(0, 2**62, (1, ), dtype=torch.long).to(device)
    if dist.get_world_size() > 1:
        dist.broadcast(seed, src=0)
    return int(seed.item())


@torch.no_grad()
def distributed_kmeans(x: torch.Tensor,
                       num_clusters: int,
                       num_iters: int = 10,
                       metric: str = 'cosine',
                       init: str = 'kmeans++',
                       seed: Optional[int] = None) -> DistributedKMeans:
    """k-means of the rows of every rank, with the same result on every rank.

    Collective. Each rank gathers all ranks' rows (rank order, any ``N_r``) and
    clusters that same matrix with the same seed (``seed``, or :func:`shared_seed`);
    rank 0's centroids are then broadcast before the final assignment, so float
    differences between devices can never split the ranks. Equal to one process
    running :func:`kmeans` on the concatenated rows with that seed.

    Args:
        x (Tensor): ``(N_r, D)`` local rows.
        num_clusters, num_iters, metric, init: see :func:`kmeans`.
        seed (int, optional): the seed of the draw; must be equal on every rank.

    Returns:
        DistributedKMeans: centroids, local labels, all labels and this rank's offset.
    """
    x = x.detach().float()
    rows, offset, _ = gather_rows(x)
    if seed is None:
        seed = shared_seed(x.device)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    centroids, _ = kmeans(rows, num_clusters, num_iters, metric, init, generator)
    if dist.get_world_size() > 1:
        dist.broadcast(centroids, src=0)
    if metric == 'cosine':  # row-wise, so the same rows kmeans clustered
        rows = F.normalize(rows, dim=1)
    all_labels = _distances(rows, centroids, metric).argmin(1)
    return DistributedKMeans(centroids, all_labels[offset:offset + x.shape[0]], all_labels,
                             offset)
