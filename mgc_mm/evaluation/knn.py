"""Weighted k-nearest-neighbour classification of a frozen backbone's global features.

The DINO protocol (Caron et al., 2021, ``eval_knn.py``), also the one of Mugs and
iBOT:

* one global feature per image: the class token of a ViT (after the final norm), or
  the globally average-pooled C5 map of a ResNet (``pool='auto'``; ``'avg'`` averages a
  ViT's patch tokens instead);
* features are L2-normalised; each val image takes the ``k`` (20) train images of
  highest cosine similarity ``s``, which vote for their class with weight
  ``exp(s / T)`` (``T = 0.07``); classes are ranked by their summed votes, ties going to
  the smaller class index (a stable sort, so the ranking is deterministic);
* top-1 / top-5: the share of val images whose class is ranked first / among the first
  five. The votes are reported normalised per image (they sum to 1), which ranks the
  classes exactly as the raw sums do;
* images: shorter side resized to ``input_size * 256 / 224`` (bicubic), centre crop of
  ``input_size``, ImageNet mean / std in RGB order.

Data: an ImageNet-layout folder (``train/<class>/*.jpg`` and ``val/<class>/*.jpg``,
or any two folders of class subfolders); the classes are the train folder's
subfolders in sorted order, and every val class must be one of them.

Distributed use: the images are split over ranks and the features gathered on rank 0
with :func:`mgc_mm.evaluation.dense_probe.run_sharded`; the vote then runs on rank 0.
"""
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine import dist
from torch import nn

from .common import backbone_out_type
from .dense_probe import IMG_EXTENSIONS, knn_vote, read_image, run_sharded, to_input

POOLS = ('auto', 'cls', 'avg')
ClassImage = Tuple[str, int]  # (image path, class index)


# ----------------------------------------------------------------------------- data
def find_class_images(folder: str, classes: Optional[Sequence[str]] = None
                      ) -> Tuple[List[ClassImage], List[str]]:
    """Images of an ImageNet-layout folder: one subfolder per class.

    Images are searched recursively in each class folder (``.jpg``, ``.jpeg``,
    ``.png``, any case), sorted by path.

    Args:
        folder (str): the folder of class subfolders.
        classes (list[str], optional): the class names, whose positions are the
            labels (the train split's classes, for a val split). Every subfolder must
            be one of them. By default the sorted subfolder names.

    Returns:
        tuple: ``[(path, label), ...]`` and the class names.

    Raises:
        FileNotFoundError: the folder does not exist, has no class subfolder, or a
            class subfolder has no image.
        ValueError: a subfolder that is not one of ``classes``.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder!r} does not exist')
    found = sorted(d for d in os.listdir(folder) if osp.isdir(osp.join(folder, d)))
    if not found:
        raise FileNotFoundError(f'image folder {folder!r} has no class subfolders '
                                '(expected the ImageNet layout <folder>/<class>/<image>)')
    if classes is None:
        classes = found
    classes = list(classes)
    unknown = [d for d in found if d not in classes]
    if unknown:
        raise ValueError(f'classes {unknown} of {folder!r} are not among the '
                         f'{len(classes)} train classes')
    items, empty = [], []
    for name in found:
        paths = sorted(
            osp.join(root, f)
            for root, _, files in os.walk(osp.join(folder, name), followlinks=True)
            for f in files if f.lower().endswith(IMG_EXTENSIONS))
        if not paths:
            empty.append(name)
        items.extend((p, classes.index(name)) for p in paths)
    if empty:
        raise FileNotFoundError(f'class folders {empty} of {folder!r} hold no image '
                                f'({", ".join(IMG_EXTENSIONS)})')
    return items, classes


def knn_splits(data_root: Optional[str] = None,
               train_dir: str = 'train',
               val_dir: str = 'val',
               max_train: Optional[int] = None,
               max_val: Optional[int] = None
               ) -> Tuple[List[ClassImage], List[ClassImage], List[str]]:
    """Train (memory) and val (query) images of a classification folder.

    Args:
        data_root (str, optional): joined to relative ``train_dir`` / ``val_dir``.
        train_dir (str): the memory's images. Defaults to 'train'.
        val_dir (str): the queries. Defaults to 'val'.
        max_train / max_val (int, optional): keep every ``n``-th image so that at most
            this many remain (a strided subset keeps every class).

    Returns:
        tuple: ``(train, val, classes)``.
    """
    root = data_root or ''
    train, classes = find_class_images(osp.join(root, train_dir))
    val, _ = find_class_images(osp.join(root, val_dir), classes)

    def subset(items, limit):
        if limit is None or len(items) <= limit:
            return items
        return [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]

    return subset(train, max_train), subset(val, max_val), classes


def resize_center_crop(img: np.ndarray, size: int, resize_ratio: float = 256 / 224) -> np.ndarray:
    """Shorter side to ``round(size * resize_ratio)`` (bicubic), centre ``size`` crop."""
    import cv2
    h, w = img.shape[:2]
    short = int(round(size * resize_ratio))
    scale = short / min(h, w)
    nh, nw = max(size, int(round(h * scale))), max(size, int(round(w * scale)))
    if (nh, nw) != (h, w):
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_CUBIC)
    y0, x0 = (nh - size) // 2, (nw - size) // 2
    return img[y0:y0 + size, x0:x0 + size]


class ClassImages(torch.utils.data.Dataset):
    """Resized, centre-cropped, normalised images: ``dict(index, img, label)``.

    Args:
        items (list): ``(path, label)`` pairs.
        input_size (int): side of the crop.
    """

    def __init__(self, items: Sequence[ClassImage], input_size: int) -> None:
        self.items = list(items)
        self.input_size = input_size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        path, label = self.items[index]
        img = resize_center_crop(read_image(path), self.input_size)
        return dict(index=index, img=to_input(img), label=label)


# ----------------------------------------------------------------------- features
def global_features(backbone: nn.Module, imgs: torch.Tensor) -> torch.Tensor:
    """One ``(B, C)`` feature per image: the last output of the backbone, as is when
    it is ``(B, C)`` (a ViT's class token), globally average-pooled when it is a
    ``(B, C, h, w)`` map (ResNet C5, ViT patch tokens)."""
    out = backbone(imgs)
    if isinstance(out, (tuple, list)):
        out = out[-1]
    if torch.is_tensor(out) and out.ndim == 4:
        return out.mean((2, 3))
    if torch.is_tensor(out) and out.ndim == 2:
        return out
    shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
    raise ValueError(f'backbone output {shape} is neither (B, C) nor (B, C, h, w): build '
                     "mmpretrain ViTs with out_type 'cls_token' or 'featmap'")


def _vit_out_type(backbone: nn.Module, pool: str) -> Optional[str]:
    """The ViT ``out_type`` a pool needs (``None``: use the backbone as it is)."""
    if pool not in POOLS:
        raise ValueError(f'pool must be one of {POOLS}, got {pool!r}')
    is_vit = hasattr(backbone, 'out_type')
    if not is_vit:
        if pool == 'cls':
            raise ValueError(f"pool='cls': {type(backbone).__name__} has no class token; "
                             "use pool='auto' (average-pooled last map)")
        return None
    if pool == 'avg':
        return 'featmap'
    return 'cls_token'


# ---------------------------------------------------------------------- measures
def knn_scores(train_feats: torch.Tensor,
               train_labels: torch.Tensor,
               query_feats: torch.Tensor,
               num_classes: int,
               k: int = 20,
               temperature: float = 0.07,
               query_chunk: int = 1024,
               bank_chunk: int = 65536) -> torch.Tensor:
    """Weighted kNN class scores of queries against a labeled memory (cosine).

    The ``k`` most similar memory features vote for their labels with weights
    ``exp(sim / T)``, normalised over the ``k`` (a softmax: the classes rank as with
    the raw sums). Computed by :func:`mgc_mm.evaluation.dense_probe.knn_vote` in
    query and memory chunks with a running top-``k``, so memory use is bounded
    whatever the memory size.

    Args:
        train_feats (Tensor): ``(N, C)`` memory features (normalised here).
        train_labels (Tensor): ``(N,)`` labels in ``[0, num_classes)``.
        query_feats (Tensor): ``(Q, C)``.
        num_classes (int): number of classes.
        k (int): neighbours (all of the memory when it is smaller). Defaults to 20.
        temperature (float): ``T``. Defaults to 0.07.
        query_chunk / bank_chunk (int): similarities are computed
            ``query_chunk x bank_chunk`` at a time.

    Returns:
        Tensor: ``(Q, num_classes)`` vote shares.
    """
    if k < 1:
        raise ValueError(f'k must be >= 1, got {k}')
    if train_feats.ndim != 2 or query_feats.ndim != 2 or \
            train_feats.shape[1] != query_feats.shape[1]:
        raise ValueError(f'need (N, C) memory and (Q, C) query features, got '
                         f'{tuple(train_feats.shape)} and {tuple(query_feats.shape)}')
    if len(train_labels) != len(train_feats):
        raise ValueError(f'{len(train_labels)} labels for {len(train_feats)} memory features')
    if len(train_labels) and (int(train_labels.min()) < 0
                              or int(train_labels.max()) >= num_classes):
        raise ValueError(f'memory labels outside [0, {num_classes})')
    # float32 similarities whatever the feature dtype (fp16 features lose the ranking)
    return knn_vote(query_feats.float(), train_feats.float(), train_labels.long(),
                    num_classes, k, temperature, query_chunk=query_chunk,
                     bank_chunk=bank_chunk)


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor,
                  topk: Sequence[int] = (1, 5)) -> Dict[int, float]:
    """Share of rows whose label is among the ``t`` best-scored classes.

    Classes are ranked by a stable descending sort (ties to the smaller index);
    ``t`` is capped at the number of classes.
    """
    if len(scores) != len(labels):
        raise ValueError(f'{len(scores)} score rows for {len(labels)} labels')
    if not len(labels):
        raise ValueError('no query to score')
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    hit = order == labels.to(order.device).view(-1, 1)
    return {t: float(hit[:, :min(t, scores.shape[1])].any(1).double().mean()) for t in topk}


# ------------------------------------------------------------------------- eval
class KNNEval:
    """Weighted kNN accuracy of a frozen backbone (see the module docstring).

    Usage: ``KNNEval(train, val).run(backbone)`` returns the figures on rank 0 and
    ``None`` on other ranks (under ``torch.distributed`` every rank must call it, as
    the images are split over ranks).

    Args:
        train (list): ``(path, label)`` of the memory images.
        val (list): ``(path, label)`` of the query images.
        num_classes (int, optional): defaults to the largest label + 1.
        k (int): neighbours. Defaults to 20.
        temperature (float): vote temperature. Defaults to 0.07.
        input_size (int): side of the centre crop. Defaults to 224.
        pool (str): ``'auto'`` (ViT class token, ResNet average-pooled C5), ``'cls'``
            or ``'avg'`` (average of the last feature map / patch tokens).
        batch_size (int): images per forward. Defaults to 64.
        num_workers (int): dataloader workers. Defaults to 0.
        progress (bool): progress bars on rank 0. Defaults to True.
    """

    def __init__(self,
                 train: Sequence[ClassImage],
                 val: Sequence[ClassImage],
                 num_classes: Optional[int] = None,
                 k: int = 20,
                 temperature: float = 0.07,
                 input_size: int = 224,
                 pool: str = 'auto',
                 batch_size: int = 64,
                 num_workers: int = 0,
                 progress: bool = True) -> None:
        if pool not in POOLS:
            raise ValueError(f'pool must be one of {POOLS}, got {pool!r}')
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        self.train, self.val = list(train), list(val)
        labels = [y for _, y in self.train + self.val]
        self.num_classes = num_classes or (max(labels) + 1 if labels else 0)
        if labels and (min(labels) < 0 or max(labels) >= self.num_classes):
            raise ValueError(f'labels outside [0, {self.num_classes})')
        self.k = k
        self.temperature = temperature
        self.input_size = input_size
        self.pool = pool
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.progress = progress

    @torch.no_grad()
    def extract(self, backbone: nn.Module, device=None) -> Optional[dict]:
        """Global features of both splits, gathered on rank 0.

        Runs the backbone in eval mode (ViTs with the ``out_type`` the pool needs)
        and restores its mode and ``out_type`` afterwards.

        Returns:
            dict | None: on rank 0 ``train`` / ``val`` ``(N, C)`` float32 CPU features
            and ``train_labels`` / ``val_labels`` ``(N,)`` int64.
        """
        if not self.train or not self.val:
            raise ValueError(f'need train and val images, got {len(self.train)} and '
                             f'{len(self.val)}')
        if device is None:
            device = next(backbone.parameters()).device
        was_training = backbone.training
        backbone.eval()

        def forward(batch):
            feats = global_features(backbone, batch['img'].to(device)).float().cpu()
            # clone: a slice would pickle its whole batch when gathered
            return [(f.clone(), int(y)) for f, y in zip(feats, batch['label'])]

        out = {}
        try:
            with backbone_out_type(backbone, _vit_out_type(backbone, self.pool)):
                for split in ('train', 'val'):
                    res = run_sharded(
                        ClassImages(getattr(self, split), self.input_size), forward,
                        batch_size=self.batch_size, num_workers=self.num_workers,
                        progress=self.progress, desc=f'kNN: {split} features')
                    if res is not None:
                        feats, labels = zip(*res)
                        out[split] = torch.stack(feats)
                        out[f'{split}_labels'] = torch.tensor(labels, dtype=torch.long)
        finally:
            backbone.train(was_training)
        return out if dist.get_rank() == 0 else None

    def evaluate(self, feats: dict, device=None) -> Dict[str, float]:
        """``top1``, ``top5`` (fractions) and the counts, from :meth:`extract`'s output."""
        device = torch.device(device or 'cpu')
        scores = knn_scores(feats['train'].to(device), feats['train_labels'].to(device),
                            feats['val'].to(device), self.num_classes, self.k,
                            self.temperature)
        acc = topk_accuracy(scores, feats['val_labels'], (1, 5))
        return dict(top1=acc[1], top5=acc[5], num_train_images=len(feats['train']),
                    num_val_images=len(feats['val']), num_classes=self.num_classes,
                    feature_dim=int(feats['train'].shape[1]), k=self.k,
                    temperature=self.temperature)

    def run(self, backbone: nn.Module, device=None) -> Optional[Dict[str, float]]:
        """:meth:`extract` on all ranks, then :meth:`evaluate` on rank 0; also
        ``images_per_s``: images through the backbone per second of extraction
        (all ranks together, gathering included)."""
        if device is None:
            device = next(backbone.parameters()).device
        start = time.perf_counter()
        feats = self.extract(backbone, device)
        seconds = time.perf_counter() - start
        if feats is None:
            return None
        out = self.evaluate(feats, device)
        out.update(feature_seconds=seconds,
                   images_per_s=(len(self.train) + len(self.val)) / max(seconds, 1e-9))
        return out
