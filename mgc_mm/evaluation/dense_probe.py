"""Dense probes of a frozen backbone on a labeled segmentation folder.

Three measurements of the patch features of a frozen backbone (ViT tokens at stride 16,
or a ResNet's C5 map):

* **linear probe**: a per-patch linear classifier trained on the train split's patch
  features against the patch labels, mIoU on the val split;
* **dense nearest-neighbour retrieval** (the "in-context" protocol of Balažević et al.,
  2023, as in Hummingbird): each val patch takes the softmax-weighted vote of the
  labels of its ``k`` nearest train patches (cosine similarity, temperature ``T``);
* **cross-view consistency**: for two random overlapping crops of each val image, the
  fraction of view-1 patches whose nearest view-2 patch (cosine) is the geometrically
  corresponding one (top-1 and top-5).

Protocol choices (the usual ones of mmseg and DINO-style dense evaluations):

* images are resized to ``input_size x input_size`` (aspect ratio not kept) and
  normalised with the ImageNet mean / std in RGB order;
* masks are single-channel PNGs of class indices; ``ignore_index`` (255) is never
  scored; ``reduce_zero_label`` maps 0 (unlabeled) to ``ignore_index`` and shifts the
  other classes down by one, exactly as mmseg does (ADE20K layout, and the bundled
  COCO layout where 0 = unlabeled);
* patch labels (what the linear probe learns and the retrieval memory holds) are the
  **majority** label of the mask pixels a patch covers (``label_mode='majority'``):
  the mask is resized with nearest-neighbour sampling to the input size and each
  patch takes its most frequent value, ties to the smaller class; unlabeled pixels
  count as a value, so a patch that is mostly unlabeled is ignored.
  ``label_mode='nearest'`` takes the mask pixel at the patch centre instead;
* predictions are patch-grid scores (linear logits, retrieval vote shares) upsampled
  **bilinearly to the full mask resolution** and arg-maxed there
  (``eval_resolution='mask'``, the usual protocol); ``'patch'`` scores the patch grid
  against the patch labels instead;
* mIoU is mmseg's: IoU per class from the confusion matrix summed over the val split,
  averaged over the classes whose union is not empty (a class that is predicted but
  absent from the ground truth counts with IoU 0). All figures are fractions in
  ``[0, 1]``.

Distributed use: :func:`run_sharded` splits images over ranks (strided, padded like
``DefaultSampler``) and gathers the per-image results on rank 0 with
``mmengine.dist.collect_results``; the measurements themselves then run on rank 0.
"""
import json
import math
import os
import os.path as osp
import random
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine import dist
from mmengine.utils import ProgressBar
from PIL import Image
from torch import nn

from mgc_mm.models.utils import (grain_correspondences, load_state_strict,
                                 resolve_momentum_prefix, select_prefix)

IMAGENET_MEAN = (123.675, 116.28, 103.53)  # RGB, 0-255
IMAGENET_STD = (58.395, 57.12, 57.375)
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png')
MEASUREMENTS = ('linear', 'retrieval', 'cross_view')
# grain_correspondences recovers exact integer overlap areas from float32 weights only
# while crop areas stay below 2**23 pixels: larger images are downscaled first.
_MAX_CROP_SOURCE_PIXELS = 2**22

LabeledImage = Tuple[str, str]  # (image path, mask path)


# ----------------------------------------------------------------------------- data
def find_labeled_images(img_dir: str,
                        ann_dir: str,
                        img_suffix: Optional[str] = None,
                        seg_map_suffix: str = '.png') -> List[LabeledImage]:
    """Pairs ``(image, mask)`` of a segmentation folder, sorted by relative path.

    Images are searched recursively under ``img_dir``; the mask of ``img_dir/a/b.jpg``
    is ``ann_dir/a/b`` + ``seg_map_suffix``. Images without a mask are left out.

    Args:
        img_dir (str): image folder.
        ann_dir (str): mask folder.
        img_suffix (str, optional): only images ending with it (e.g.
            ``'_leftImg8bit.png'``); by default any ``.jpg``, ``.jpeg``, ``.png``.
        seg_map_suffix (str): what replaces the image suffix in a mask's name.

    Returns:
        list[tuple[str, str]]: image and mask paths.
    """
    for name, folder in (('image', img_dir), ('annotation', ann_dir)):
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{name} folder {folder!r} does not exist')
    pairs = []
    for root, _, files in os.walk(img_dir, followlinks=True):
        for name in files:
            if img_suffix is not None:
                if not name.endswith(img_suffix):
                    continue
                stem = name[:-len(img_suffix)]
            elif name.lower().endswith(IMG_EXTENSIONS):
                stem = osp.splitext(name)[0]
            else:
                continue
            rel = osp.relpath(osp.join(root, stem), img_dir)
            mask = osp.join(ann_dir, rel + seg_map_suffix)
            if osp.isfile(mask):
                pairs.append((rel, osp.join(root, name), mask))
    if not pairs:
        raise FileNotFoundError(f'no image in {img_dir!r} has a mask in {ann_dir!r} '
                                f'(mask name = image stem + {seg_map_suffix!r})')
    pairs.sort()
    return [(img, mask) for _, img, mask in pairs]


def _stem(pair: LabeledImage) -> str:
    return osp.splitext(osp.basename(pair[0]))[0]


def exclude_images(pairs: Sequence[LabeledImage],
                   folders: Sequence[str]) -> List[LabeledImage]:
    """Drop the labeled images whose stem names an image in one of ``folders``.

    A learning check scores a backbone on images it was not pretrained on: pass the
    pretraining image folder (e.g. ``demo/data/coco/train2017``) and the images of
    the labeled folder that are also there (same file stem: COCO names images by id)
    leave both splits.

    Args:
        pairs (list): ``(image, mask)`` paths, e.g. from :func:`find_labeled_images`.
        folders (list[str]): image folders, searched recursively.

    Returns:
        list[tuple[str, str]]: the pairs left, in their order.
    """
    seen = set()
    for folder in folders:
        if not osp.isdir(folder):
            raise FileNotFoundError(f'exclude folder {folder!r} does not exist')
        stems = {osp.splitext(name)[0] for _, _, files in os.walk(folder, followlinks=True)
                 for name in files if name.lower().endswith(IMG_EXTENSIONS)}
        if not stems:  # a wrong path would otherwise exclude nothing, silently
            raise FileNotFoundError(f'exclude folder {folder!r} holds no image '
                                    f'({", ".join(IMG_EXTENSIONS)})')
        seen |= stems
    kept = [p for p in pairs if _stem(p) not in seen]
    if not kept:
        raise ValueError(f'every labeled image is also in {list(folders)}: nothing left '
                         'to probe on')
    return kept


def split_labeled_images(pairs: Sequence[LabeledImage],
                         val_fraction: float = 0.25,
                         seed: int = 0,
                         train_list: Optional[Sequence[str]] = None,
                         val_list: Optional[Sequence[str]] = None,
                         max_train: Optional[int] = None,
                         max_val: Optional[int] = None
                         ) -> Tuple[List[LabeledImage], List[LabeledImage]]:
    """Deterministic train / val split of labeled images.

    With ``val_list`` (image stems, file names without suffix), those images are the
    val split and ``train_list`` (default: all others) the train split. Otherwise a
    seeded permutation puts ``round(val_fraction * n)`` images (at least one) into
    val and the rest into train; both keep the sorted order.

    Args:
        pairs (list): ``(image, mask)`` paths, e.g. from :func:`find_labeled_images`.
        val_fraction (float): share of val images. Defaults to 0.25.
        seed (int): seed of the permutation. Defaults to 0.
        train_list / val_list (list[str], optional): explicit stems.
        max_train / max_val (int, optional): keep at most this many images of a split
            (the first ones of the seeded permutation).

    Returns:
        tuple: ``(train, val)`` lists of ``(image, mask)``.
    """
    pairs = list(pairs)
    order = np.random.default_rng(seed).permutation(len(pairs))
    if val_list is not None:
        by_stem = {_stem(p): i for i, p in enumerate(pairs)}
        if len(by_stem) != len(pairs):
            raise ValueError('image stems are not unique: name the splits by folder instead')
        wanted = {'val_list': list(val_list), 'train_list': list(train_list or [])}
        missing = {k: [s for s in v if s not in by_stem] for k, v in wanted.items()}
        if any(missing.values()):
            raise KeyError(f'stems without a labeled image: {missing}')
        val_idx = {by_stem[s] for s in val_list}
        train_idx = ({by_stem[s] for s in train_list} if train_list is not None else
                     set(range(len(pairs))) - val_idx)
        if train_idx & val_idx:
            raise ValueError(f'images in both splits: '
                             f'{sorted(_stem(pairs[i]) for i in train_idx & val_idx)}')
    else:
        if not 0 < val_fraction < 1:
            raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction}')
        if len(pairs) < 2:
            raise ValueError(f'need at least 2 labeled images to split, got {len(pairs)}')
        n_val = min(max(1, round(val_fraction * len(pairs))), len(pairs) - 1)
        val_idx = set(order[:n_val].tolist())
        train_idx = set(range(len(pairs))) - val_idx
    rank = {int(i): r for r, i in enumerate(order)}

    def take(idx, limit):
        idx = sorted(idx, key=rank.get)[:limit]
        return [pairs[i] for i in sorted(idx)]

    train, val = take(train_idx, max_train), take(val_idx, max_val)
    if not train or not val:
        raise ValueError(f'empty split: {len(train)} train and {len(val)} val images')
    return train, val


def read_mask(path: str, reduce_zero_label: bool = False,
              ignore_index: int = 255) -> np.ndarray:
    """A class-index mask as ``(H, W)`` int64 (palette PNGs give their indices).

    Args:
        path (str): PNG mask.
        reduce_zero_label (bool): 0 -> ``ignore_index``, ``c`` -> ``c - 1`` (mmseg).
        ignore_index (int): label that is never scored. Defaults to 255.
    """
    with Image.open(path) as img:
        mask = np.asarray(img)
    if mask.ndim != 2:
        raise ValueError(f'mask {path} has shape {mask.shape}: expected a single-channel '
                         'PNG of class indices')
    mask = mask.astype(np.int64)
    if reduce_zero_label:
        unlabeled = mask == 0
        mask = mask - 1
        mask[unlabeled | (mask == ignore_index - 1)] = ignore_index
    return mask


def patch_labels(mask: np.ndarray, grid: Tuple[int, int], input_size: int,
                 mode: str = 'majority', ignore_index: int = 255) -> torch.Tensor:
    """Labels of a ``grid = (h, w)`` of patches of a mask resized to ``input_size``.

    ``'majority'``: each patch takes the most frequent value of the mask pixels it
    covers (mask resized to the input size with centre-sampled nearest neighbours);
    ties go to the smaller class; ``ignore_index`` counts as a value and wins only
    when it is strictly most frequent. ``'nearest'``: the mask value at the patch
    centre.

    Returns:
        Tensor: ``(h, w)`` int64.
    """
    import cv2
    h, w = grid
    if mode == 'nearest':
        out = cv2.resize(mask.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST_EXACT)
        return torch.from_numpy(out.astype(np.int64))
    if mode != 'majority':
        raise ValueError(f"label mode must be 'majority' or 'nearest', got {mode!r}")
    if input_size % h or input_size % w:
        raise ValueError(f'input size {input_size} is not a multiple of the grid {grid}')
    ry, rx = input_size // h, input_size // w
    big = cv2.resize(mask.astype(np.int32), (input_size, input_size),
                     interpolation=cv2.INTER_NEAREST_EXACT)
    blocks = torch.from_numpy(big.astype(np.int64)).view(h, ry, w, rx)
    blocks = blocks.permute(0, 2, 1, 3).reshape(h * w, ry * rx)
    labeled = blocks != ignore_index
    num = int(blocks[labeled].max()) + 1 if bool(labeled.any()) else 0
    # Unlabeled goes to the last bin, so that argmax (first maximum) prefers a class.
    values = torch.where(labeled, blocks, torch.full_like(blocks, num))
    counts = torch.zeros(h * w, num + 1, dtype=torch.int64)
    counts.scatter_add_(1, values, torch.ones_like(values))
    out = counts.argmax(1)
    out[out == num] = ignore_index
    return out.view(h, w)


def read_image(path: str) -> np.ndarray:
    """An 8-bit BGR image; a file that cannot be decoded raises with its path."""
    from mgc_mm.datasets.transforms import decode_image
    with open(path, 'rb') as f:
        data = f.read()
    try:
        return decode_image(data)
    except Exception as e:
        raise ValueError(f'cannot decode image {path}: {e}') from e


def to_input(img: np.ndarray, size: Optional[int] = None,
             mean: Sequence[float] = IMAGENET_MEAN,
             std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """BGR uint8 ``(H, W, 3)`` -> normalised RGB float ``(3, size, size)``."""
    import cv2
    if size is not None and img.shape[:2] != (size, size):
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
    x = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1).float()
    return (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


class ProbeImages(torch.utils.data.Dataset):
    """Whole images resized to ``input_size``: ``dict(index, img)``.

    Args:
        img_paths (list[str]): image files.
        input_size (int): side of the square input.
    """

    def __init__(self, img_paths: Sequence[str], input_size: int) -> None:
        self.img_paths = list(img_paths)
        self.input_size = input_size

    def __len__(self) -> int:
        return len(self.img_paths)

    def __getitem__(self, index: int) -> dict:
        return dict(index=index, img=to_input(read_image(self.img_paths[index]),
                                              self.input_size))


def photometric_views() -> list:
    """MoCo v2's photometric view augmentation, drawn independently per view: colour
    jitter (0.4, 0.4, 0.4, 0.1) with p 0.8, grayscale p 0.2, Gaussian blur
    sigma 0.1-2 with p 0.5 (images BGR uint8).

    With geometric crops alone, colour is a perfect matching cue, which the un-trained
    features of a random network keep and contrastive training deliberately removes;
    these views measure the correspondence *under the augmentations a method is
    trained to be invariant to*, where colour cannot carry the match.
    """
    from mmcv.transforms import RandomApply, RandomGrayscale

    from mgc_mm.datasets.transforms import CV2ColorJitter, CV2GaussianBlur
    return [
        RandomApply([CV2ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)],
                    prob=0.8),
        RandomGrayscale(prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
        CV2GaussianBlur(sigma_range=(0.1, 2.0), prob=0.5),
    ]


class ProbeViewPairs(torch.utils.data.Dataset):
    """Two random overlapping crops of each image, drawn as in MGC pretraining.

    The crops come from :class:`CoupledRandomResizedCrop` (scale, ratio, IoU and flip
    rules of pretraining), by default without photometric augmentation; with
    ``photometric=True`` each view also gets :func:`photometric_views` (MoCo v2's
    colour jitter, grayscale and blur, drawn per view). NumPy and Python's generators
    are seeded from ``(seed, index)`` so that an image's views do not depend on the
    order, the sharding or the global random state (which is restored afterwards).

    Returns ``dict(index, view1, view2, boxes (2, 4) int64, flips (2,) bool)``.

    Args:
        img_paths (list[str]): image files.
        input_size (int): side of the square views.
        seed (int): seed of the crops.
        crop_cfg (dict, optional): other :class:`CoupledRandomResizedCrop` arguments.
        photometric (bool): add :func:`photometric_views` to both views.
    """

    def __init__(self, img_paths: Sequence[str], input_size: int, seed: int = 0,
                 crop_cfg: Optional[dict] = None, photometric: bool = False) -> None:
        from mgc_mm.datasets.transforms import CoupledRandomResizedCrop
        self.img_paths = list(img_paths)
        self.input_size = input_size
        self.seed = seed
        crop_cfg = dict(crop_cfg or {})
        if photometric:
            if 'view_pipelines' in crop_cfg:
                raise ValueError('photometric=True and crop_cfg.view_pipelines both given')
            crop_cfg['view_pipelines'] = [photometric_views(), photometric_views()]
        self.photometric = photometric
        self.crop = CoupledRandomResizedCrop(size=input_size, **crop_cfg)

    def __len__(self) -> int:
        return len(self.img_paths)

    def __getitem__(self, index: int) -> dict:
        import cv2
        img = read_image(self.img_paths[index])
        area = img.shape[0] * img.shape[1]
        if area > _MAX_CROP_SOURCE_PIXELS:
            scale = math.sqrt(_MAX_CROP_SOURCE_PIXELS / area)
            img = cv2.resize(img, (max(1, int(img.shape[1] * scale)),
                                   max(1, int(img.shape[0] * scale))),
                             interpolation=cv2.INTER_AREA)
        state, py_state = np.random.get_state(), random.getstate()
        try:
            seed = int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0])
            np.random.seed(seed)
            random.seed(seed)  # mmcv's RandomGrayscale draws from Python's generator
            out = self.crop.transform(dict(img=img))
        finally:
            np.random.set_state(state)
            random.setstate(py_state)
        return dict(index=index, view1=to_input(out['img'][0]), view2=to_input(out['img'][1]),
                    boxes=torch.from_numpy(out['crop_boxes']),
                    flips=torch.from_numpy(np.asarray(out['crop_flips'], dtype=bool)))


# ----------------------------------------------------------------------- features
def patch_features(backbone: nn.Module, imgs: torch.Tensor) -> torch.Tensor:
    """The backbone's last feature map ``(B, C, h, w)`` (ViT tokens or ResNet C5)."""
    out = backbone(imgs)
    if isinstance(out, (tuple, list)):
        out = out[-1]
    if not torch.is_tensor(out) or out.ndim != 4:
        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise ValueError(f'backbone output {shape} is not a feature map (B, C, h, w): '
                         "build mmpretrain ViTs with out_type='featmap'")
    return out


def _shard(n: int, rank: int, world: int) -> List[int]:
    # Strided and padded to equal length like DefaultSampler, the layout
    # collect_results expects (it interleaves the ranks' parts and truncates).
    per_rank = math.ceil(n / world)
    return [(rank + i * world) % n for i in range(per_rank)]


def run_sharded(dataset: torch.utils.data.Dataset,
                fn: Callable[[dict], List],
                batch_size: int = 16,
                num_workers: int = 0,
                progress: bool = True,
                desc: str = '') -> Optional[list]:
    """``fn(batch)`` over a dataset split across ranks, gathered in order on rank 0.

    Args:
        dataset: items are dicts; ``fn`` maps a collated batch to one result per item.
        batch_size (int): items per batch (per rank).
        num_workers (int): dataloader workers.
        progress (bool): show an mmengine progress bar on rank 0.
        desc (str): printed before the bar.

    Returns:
        list | None: the results of all items in dataset order on rank 0, ``None`` on
        other ranks.
    """
    rank, world = dist.get_dist_info()
    indices = _shard(len(dataset), rank, world)
    # A private generator: iterating a DataLoader otherwise draws its base seed from
    # the global torch RNG, which would shift a training run's random stream.
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, indices), batch_size=batch_size, shuffle=False,
        num_workers=num_workers, generator=torch.Generator().manual_seed(0))
    bar = None
    if progress and rank == 0:
        if desc:
            print(desc, flush=True)
        bar = ProgressBar(len(indices))
    part = []
    for batch in loader:
        part.extend(fn(batch))
        if bar is not None:
            bar.update(len(batch['index']))
    if bar is not None:
        print(flush=True)
    if world == 1:
        return part
    device = 'gpu' if dist.get_backend() == 'nccl' else 'cpu'
    return dist.collect_results(part, len(dataset), device=device)


# ---------------------------------------------------------------------- measures
def confusion_matrix(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """``(num_classes, num_classes)`` int64 counts, rows ground truth, cols prediction."""
    if pred.shape != gt.shape:
        raise ValueError(f'prediction {tuple(pred.shape)} and ground truth '
                         f'{tuple(gt.shape)} differ in shape')
    keep = gt != ignore_index
    gt, pred = gt[keep].long(), pred[keep].long()
    bad = (gt < 0) | (gt >= num_classes)
    if bool(bad.any()):
        raise ValueError(f'ground-truth labels {gt[bad].unique().tolist()} are outside '
                         f'[0, {num_classes}) and are not the ignore index {ignore_index}')
    if bool(((pred < 0) | (pred >= num_classes)).any()):
        raise ValueError(f'predictions outside [0, {num_classes})')
    return torch.bincount(gt * num_classes + pred,
                          minlength=num_classes**2).view(num_classes, num_classes).cpu()


def miou_from_confusion(cm: torch.Tensor) -> Dict[str, object]:
    """mmseg's mIoU, aAcc and per-class IoU (NaN where a class has an empty union)."""
    cm = cm.double()
    inter = cm.diag()
    union = cm.sum(0) + cm.sum(1) - inter
    iou = inter / union  # 0 / 0 = NaN: class absent from prediction and ground truth
    valid = union > 0
    miou = float(iou[valid].mean()) if bool(valid.any()) else float('nan')
    total = float(cm.sum())
    return dict(mIoU=miou, aAcc=float(inter.sum()) / total if total else float('nan'),
                IoU=iou)


def upsampled_prediction(scores: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Arg-max of ``(K, h, w)`` scores upsampled bilinearly to ``size``: ``(H, W)``.

    The same map as ``F.interpolate(scores, size, 'bilinear').argmax(0)``, computed
    for the few classes that can win somewhere: a bilinear value lies between the
    minimum and maximum of its (up to) 2x2 source patches, so a class whose maximum
    over every 2x2 window stays below the best window minimum of some class never
    wins there, and is left out (with a relative margin of 1e-5 for rounding).
    Upsampling all ``K`` classes to a full-resolution mask dominates the cost
    otherwise.
    """
    size = tuple(size)
    if tuple(scores.shape[-2:]) == size:
        return scores.argmax(0)
    scores = scores.float()
    keep = None
    if min(scores.shape[-2:]) >= 2:
        win_max = F.max_pool2d(scores[None], 2, stride=1)[0]
        win_min = -F.max_pool2d(-scores[None], 2, stride=1)[0]
        floor = win_min.max(0).values  # (h-1, w-1): what the best class reaches at least
        floor = floor - 1e-5 * (floor.abs() + 1)
        keep = (win_max >= floor).any(-1).any(-1).nonzero()[:, 0]
        scores = scores[keep]
    # contiguous: a transposed (channels-last) input takes a path ~5x slower
    pred = F.interpolate(scores.contiguous()[None], size=size, mode='bilinear',
                         align_corners=False)[0].argmax(0)
    return pred if keep is None else keep[pred]


class LinearProbe(nn.Module):
    """A linear classifier of patch features, standardised with train statistics.

    The standardisation is a fixed affine map, so the classifier stays linear in the
    features; it makes one learning rate work for features of any scale.

    Args:
        mean (Tensor): ``(C,)`` feature mean of the train patches.
        std (Tensor): ``(C,)`` feature standard deviation.
        num_classes (int): number of classes.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, num_classes: int) -> None:
        super().__init__()
        self.register_buffer('mean', mean.clone())
        self.register_buffer('std', std.clone())
        # Softmax regression is convex: zero weights are as good a start as any and
        # make the probe deterministic without an RNG (skip_init: nn.Linear's own
        # init would draw from the global generator of a training run).
        self.fc = nn.utils.skip_init(nn.Linear, mean.numel(), num_classes)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``(P, C)`` -> ``(P, K)`` logits, or ``(N, C, h, w)`` -> ``(N, K, h, w)``."""
        if feats.ndim == 4:
            N, C, h, w = feats.shape
            logits = self(feats.permute(0, 2, 3, 1).reshape(-1, C))
            return logits.view(N, h, w, -1).permute(0, 3, 1, 2)
        return self.fc((feats - self.mean) / self.std)


def train_linear_probe(feats: torch.Tensor,
                       labels: torch.Tensor,
                       num_classes: int,
                       epochs: int = 20,
                       lr: float = 3e-2,
                       batch_size: int = 512,
                       weight_decay: float = 0.,
                       seed: int = 0,
                       ignore_index: int = 255) -> LinearProbe:
    """Train a :class:`LinearProbe` on frozen patch features with Adam.

    Args:
        feats (Tensor): ``(P, C)`` patch features (any device).
        labels (Tensor): ``(P,)`` patch labels; ``ignore_index`` patches are dropped.
        num_classes (int): number of classes.
        epochs (int): passes over the patches. Defaults to 20.
        lr (float): Adam learning rate. Defaults to 3e-2.
        batch_size (int): patches per step. Defaults to 512.
        weight_decay (float): Adam weight decay. Defaults to 0.
        seed (int): seed of the mini-batch order. Defaults to 0.
        ignore_index (int): label without a class. Defaults to 255.
    """
    keep = labels != ignore_index
    feats, labels = feats[keep].float(), labels[keep].to(feats.device)
    if not len(labels):
        raise ValueError('no labeled patch to train the linear probe on')
    mean = feats.mean(0)
    std = feats.std(0, unbiased=False).clamp(min=1e-6)
    probe = LinearProbe(mean, std, num_classes).to(feats.device)
    optim = torch.optim.Adam(probe.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(len(labels), generator=gen).to(feats.device)
            for start in range(0, len(labels), batch_size):
                idx = order[start:start + batch_size]
                loss = F.cross_entropy(probe(feats[idx]), labels[idx])
                optim.zero_grad(set_to_none=True)
                loss.backward()
                optim.step()
    return probe.eval().requires_grad_(False)


def knn_vote(queries: torch.Tensor,
             bank: torch.Tensor,
             bank_labels: torch.Tensor,
             num_classes: int,
             k: int = 30,
             temperature: float = 0.02,
             query_chunk: int = 4096,
             bank_chunk: int = 65536) -> torch.Tensor:
    """Class scores of queries from their ``k`` nearest bank entries (cosine).

    Each query's ``k`` most similar bank features vote for their labels with weights
    ``softmax(similarity / temperature)`` over the ``k``. Similarities are computed
    in chunks of ``query_chunk x bank_chunk`` with a running top-``k``, so memory is
    bounded whatever the bank size.

    Args:
        queries (Tensor): ``(Q, C)``.
        bank (Tensor): ``(B, C)``.
        bank_labels (Tensor): ``(B,)`` labels in ``[0, num_classes)``.
        num_classes (int): number of classes.
        k (int): neighbours. Defaults to 30.
        temperature (float): softmax temperature. Defaults to 0.02.

    Returns:
        Tensor: ``(Q, num_classes)`` vote shares, rows summing to 1.
    """
    if len(bank) == 0:
        raise ValueError('the retrieval memory bank is empty')
    if temperature <= 0:
        raise ValueError(f'temperature must be positive, got {temperature}')
    k = min(k, len(bank))
    bank = F.normalize(bank, dim=1)
    bank_labels = bank_labels.to(bank.device)
    out = []
    for qs in range(0, len(queries), query_chunk):
        q = F.normalize(queries[qs:qs + query_chunk].to(bank), dim=1)
        best_v = best_i = None
        for bs in range(0, len(bank), bank_chunk):
            sim = q @ bank[bs:bs + bank_chunk].T
            v, i = sim.topk(min(k, sim.shape[1]), dim=1)
            i = i + bs
            if best_v is not None:
                v = torch.cat([best_v, v], 1)
                # fewer than k so far when k exceeds a chunk
                v, j = v.topk(min(k, v.shape[1]), dim=1)
                i = torch.cat([best_i, i], 1).gather(1, j)
            best_v, best_i = v, i
        weights = (best_v / temperature).softmax(1)
        votes = torch.zeros(len(q), num_classes, dtype=weights.dtype, device=weights.device)
        out.append(votes.scatter_add_(1, bank_labels[best_i], weights))
    return torch.cat(out)


def cross_view_consistency(feats1: torch.Tensor,
                           feats2: torch.Tensor,
                           boxes: torch.Tensor,
                           flips: torch.Tensor,
                           view_size: int,
                           topk: Sequence[int] = (1, 5)) -> Dict[str, float]:
    """How often a view-1 patch's nearest view-2 patch is its geometric match.

    Geometry comes from :func:`grain_correspondences` at the patch grid (grain =
    ``view_size / L``) with unit anchor strides and every candidate pair kept, i.e.
    the exact integer overlap of every view-1 patch with every view-2 patch.
    Only exact pairs are scored: the anchors are the view-1 patches lying entirely
    inside view 2, and an anchor's match is the view-2 patch of largest overlap with
    it (all of them when several tie). A hit at ``t`` is a match among the anchor's
    ``t`` most cosine-similar view-2 patches.

    Args:
        feats1 (Tensor): ``(N, C, L, L)`` features of view 1.
        feats2 (Tensor): ``(N, C, L, L)`` features of view 2.
        boxes (Tensor): ``(N, 2, 4)`` crop boxes ``(x, y, w, h)`` of both views.
        flips (Tensor): ``(N, 2)`` horizontal flips of both views.
        view_size (int): side of the views in pixels.
        topk (tuple[int]): which top-``t`` rates to report. Defaults to (1, 5).

    Returns:
        dict: ``top{t}`` per ``t``, ``num_anchors``, and ``chance_top1`` (the top-1
        rate of a uniformly random guess, mean matches per anchor / ``L²``).
    """
    N, _, L, Lw = feats1.shape
    if L != Lw or feats2.shape != feats1.shape:
        raise ValueError(f'need two equal square feature maps, got {tuple(feats1.shape)} '
                         f'and {tuple(feats2.shape)}')
    if view_size % L:
        raise ValueError(f'view size {view_size} is not a multiple of the grid {L}')
    grain = view_size // L
    b1, b2 = boxes[:, 0].long(), boxes[:, 1].long()
    # Keep every candidate: a view-1 cell meets at most ceil(w1 / w2) + 1 view-2 columns.
    win_c = -torch.div(-b1[:, 2], b2[:, 2], rounding_mode='floor') + 1
    win_r = -torch.div(-b1[:, 3], b2[:, 3], rounding_mode='floor') + 1
    num_pairs = int(min(L**4, L * L * int((win_r * win_c).max())))
    corr = grain_correspondences(b1, b2, flips[:, 0], flips[:, 1], grain, view_size=view_size,
                                 num_pairs=num_pairs, stride_factors=(1, 1),
                                 row_clamp=(1, 1), col_clamp=(1, 1))
    # Exact integer overlap areas (L²-scaled units): weight = area / (|a| + |c|) is a
    # float32 of a ratio of integers below 2**23 (see ProbeViewPairs), so rounding
    # weight * (|a| + |c|) recovers the area exactly.
    cell1 = (b1[:, 2] * b1[:, 3]).double()
    denom = cell1 + (b2[:, 2] * b2[:, 3]).double()
    area = (corr.weight.double() * denom[:, None]).round().long() * corr.valid
    hits = {t: 0 for t in topk}
    chance, num_anchors = 0., 0
    P = L * L
    for n in range(N):
        idx1, idx2, a = corr.idx1[n], corr.idx2[n], area[n]
        covered = torch.zeros(P, dtype=torch.long).index_add_(0, idx1, a)
        best = torch.zeros(P, dtype=torch.long).scatter_reduce_(0, idx1, a, reduce='amax')
        match = torch.zeros(P, P, dtype=torch.bool)
        is_best = corr.valid[n] & (a == best[idx1]) & (a > 0)
        match[idx1[is_best], idx2[is_best]] = True
        anchors = (covered == int(cell1[n])).nonzero()[:, 0]
        if not len(anchors):
            continue
        f1 = F.normalize(feats1[n].flatten(1).T[anchors], dim=1)
        f2 = F.normalize(feats2[n].flatten(1).T, dim=1)
        nearest = (f1 @ f2.T).topk(min(max(topk), P), dim=1).indices.cpu()
        m = match[anchors]
        for t in topk:
            hits[t] += int(m.gather(1, nearest[:, :t]).any(1).sum())
        chance += float(m.sum(1).double().sum()) / P
        num_anchors += len(anchors)
    out = {f'top{t}': hits[t] / num_anchors if num_anchors else float('nan') for t in topk}
    out.update(num_anchors=num_anchors,
               chance_top1=chance / num_anchors if num_anchors else float('nan'))
    return out


# ------------------------------------------------------------------------- probe
class DenseProbe:
    """Dense probes of a frozen backbone on a labeled train / val split.

    Usage: ``DenseProbe(train, val, ...).run(backbone)`` returns the figures on
    rank 0 (``None`` on other ranks; every rank must call it under
    ``torch.distributed``, as images are split over ranks).

    Args:
        train (list): ``(image, mask)`` paths of the train split (linear-probe
            training set and retrieval memory).
        val (list): ``(image, mask)`` paths of the val split.
        measurements (tuple[str]): any of ``'linear'``, ``'retrieval'``,
            ``'cross_view'``. Defaults to all three.
        num_classes (int, optional): defaults to the largest label in the masks + 1.
        input_size (int): side of the square input. Defaults to 224.
        reduce_zero_label (bool): mmseg's zero-label reduction (0 = unlabeled).
        ignore_index (int): label that is never scored. Defaults to 255.
        label_mode (str): patch labels, ``'majority'`` or ``'nearest'``.
        eval_resolution (str): ``'mask'`` (upsample scores to the mask) or ``'patch'``.
        k (int): retrieval neighbours. Defaults to 30.
        temperature (float): retrieval softmax temperature. Defaults to 0.02.
        linear_cfg (dict, optional): arguments of :func:`train_linear_probe`
            (``epochs``, ``lr``, ``batch_size``, ``weight_decay``).
        batch_size (int): images per forward. Defaults to 16.
        num_workers (int): dataloader workers. Defaults to 0.
        seed (int): seed of the crops and of the linear probe. Defaults to 0.
        progress (bool): progress bars on rank 0. Defaults to True.
        cross_view_photometric (bool): cross-view pairs with MoCo v2's photometric
            augmentation per view (:func:`photometric_views`), not crops alone.
            Defaults to False.
    """

    def __init__(self,
                 train: Sequence[LabeledImage],
                 val: Sequence[LabeledImage],
                 measurements: Sequence[str] = MEASUREMENTS,
                 num_classes: Optional[int] = None,
                 input_size: int = 224,
                 reduce_zero_label: bool = False,
                 ignore_index: int = 255,
                 label_mode: str = 'majority',
                 eval_resolution: str = 'mask',
                 k: int = 30,
                 temperature: float = 0.02,
                 linear_cfg: Optional[dict] = None,
                 batch_size: int = 16,
                 num_workers: int = 0,
                 seed: int = 0,
                 progress: bool = True,
                 cross_view_photometric: bool = False) -> None:
        unknown = set(measurements) - set(MEASUREMENTS)
        if unknown or not measurements:
            raise ValueError(f'measurements must be a non-empty subset of {MEASUREMENTS}, '
                             f'got {tuple(measurements)}')
        if eval_resolution not in ('mask', 'patch'):
            raise ValueError(f"eval_resolution must be 'mask' or 'patch', got {eval_resolution!r}")
        if label_mode not in ('majority', 'nearest'):
            raise ValueError(f"label_mode must be 'majority' or 'nearest', got {label_mode!r}")
        self.train, self.val = list(train), list(val)
        self.measurements = tuple(m for m in MEASUREMENTS if m in measurements)
        self.num_classes = num_classes
        self.input_size = input_size
        self.reduce_zero_label = reduce_zero_label
        self.ignore_index = ignore_index
        self.label_mode = label_mode
        self.eval_resolution = eval_resolution
        self.k = k
        self.temperature = temperature
        self.linear_cfg = dict(linear_cfg or {})
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.progress = progress
        self.cross_view_photometric = cross_view_photometric

    # -- features (all ranks)
    @torch.no_grad()
    def extract(self, backbone: nn.Module, device=None) -> Optional[dict]:
        """Patch features of the splits (and of the view pairs), gathered on rank 0.

        Runs the backbone in eval mode and restores its mode afterwards.

        Returns:
            dict | None: on rank 0 ``train`` / ``val`` ``(N, C, h, w)`` CPU tensors,
            and with ``'cross_view'`` also ``view1``, ``view2``, ``boxes``, ``flips``.
        """
        if device is None:
            device = next(backbone.parameters()).device
        was_training = backbone.training
        backbone.eval()
        try:
            def forward(batch):
                # clone: a slice would pickle its whole batch when gathered
                feats = patch_features(backbone, batch['img'].to(device)).float().cpu()
                return [f.clone() for f in feats]

            def forward_pairs(batch):
                views = torch.cat([batch['view1'], batch['view2']]).to(device)
                f1, f2 = patch_features(backbone, views).float().cpu().chunk(2)
                return [(a.clone(), b.clone(), box.clone(), flip.clone())
                        for a, b, box, flip in zip(f1, f2, batch['boxes'], batch['flips'])]

            kw = dict(batch_size=self.batch_size, num_workers=self.num_workers,
                      progress=self.progress)
            need_images = {'linear', 'retrieval'} & set(self.measurements)
            out = {}
            if need_images:
                for split in ('train', 'val'):
                    paths = [p[0] for p in getattr(self, split)]
                    res = run_sharded(ProbeImages(paths, self.input_size), forward,
                                      desc=f'dense probe: {split} features', **kw)
                    out[split] = None if res is None else torch.stack(res)
            if 'cross_view' in self.measurements:
                pairs = ProbeViewPairs([p[0] for p in self.val], self.input_size, self.seed,
                                       photometric=self.cross_view_photometric)
                res = run_sharded(pairs, forward_pairs, desc='dense probe: view pairs', **kw)
                if res is not None:
                    f1, f2, boxes, flips = zip(*res)
                    out.update(view1=torch.stack(f1), view2=torch.stack(f2),
                               boxes=torch.stack(boxes), flips=torch.stack(flips))
        finally:
            backbone.train(was_training)
        return out if dist.get_rank() == 0 else None

    # -- measurements (rank 0)
    def _labels(self, pairs: Sequence[LabeledImage], grid: Tuple[int, int]) -> torch.Tensor:
        return torch.stack([
            patch_labels(read_mask(m, self.reduce_zero_label, self.ignore_index), grid,
                         self.input_size, self.label_mode, self.ignore_index)
            for _, m in pairs])

    def _infer_num_classes(self, train_labels: torch.Tensor) -> int:
        labeled = train_labels[train_labels != self.ignore_index]
        top = int(labeled.max()) if labeled.numel() else -1
        for _, m in self.val:
            mask = read_mask(m, self.reduce_zero_label, self.ignore_index)
            labeled = mask[mask != self.ignore_index]
            if labeled.size:
                top = max(top, int(labeled.max()))
        if top < 0:
            raise ValueError('no labeled pixel in the masks')
        return top + 1

    def _scorers(self, feats: dict, device: torch.device) -> dict:
        """Train the linear probe / build the memory bank: patch-grid scorers."""
        train_f, val_f = feats['train'], feats['val']
        grid = tuple(train_f.shape[-2:])
        train_y = self._labels(self.train, grid)
        num_classes = self.num_classes or self._infer_num_classes(train_y)
        flat_f = train_f.permute(0, 2, 3, 1).reshape(-1, train_f.shape[1])
        flat_y = train_y.flatten()
        labeled = flat_y != self.ignore_index
        scorers = {}
        if 'linear' in self.measurements:
            probe = train_linear_probe(flat_f.to(device), flat_y.to(device), num_classes,
                                       seed=self.seed, ignore_index=self.ignore_index,
                                       **self.linear_cfg)
            scorers['linear'] = lambda f: probe(f[None].to(device))[0]
        if 'retrieval' in self.measurements:
            bank, bank_y = flat_f[labeled].to(device), flat_y[labeled].to(device)

            def retrieve(f):
                votes = knn_vote(f.flatten(1).T.to(device), bank, bank_y, num_classes,
                                 self.k, self.temperature)
                return votes.T.reshape(num_classes, *f.shape[1:])
            scorers['retrieval'] = retrieve
        return dict(grid=grid, num_classes=num_classes, scorers=scorers,
                    num_train_patches=int(labeled.sum()),
                    num_val_patches=int(val_f.shape[0] * val_f.shape[2] * val_f.shape[3]))

    @torch.no_grad()
    def predictions(self, feats: dict, device=None, setup: Optional[dict] = None
                    ) -> Iterator[Tuple[int, torch.Tensor, Dict[str, torch.Tensor]]]:
        """Per val image ``(index, ground truth, {measurement: prediction})``.

        Both maps are ``(H, W)`` int64 at the evaluation resolution (the mask's, or
        the patch grid with ``eval_resolution='patch'``); predictions are the arg-max
        of the patch-grid scores upsampled bilinearly.
        """
        device = torch.device(device or 'cpu')
        setup = setup or self._scorers(feats, device)
        for i, (_, mask_path) in enumerate(self.val):
            mask = read_mask(mask_path, self.reduce_zero_label, self.ignore_index)
            if self.eval_resolution == 'patch':
                gt = patch_labels(mask, setup['grid'], self.input_size, self.label_mode,
                                  self.ignore_index)
            else:
                gt = torch.from_numpy(mask)
            yield i, gt, {name: upsampled_prediction(score(feats['val'][i]), gt.shape).cpu()
                          for name, score in setup['scorers'].items()}

    @torch.no_grad()
    def evaluate(self, feats: dict, device=None) -> Dict[str, float]:
        """The figures from :meth:`extract`'s features (see the module docstring).

        Returns:
            dict: ``linear_mIoU``, ``linear_aAcc``, ``retrieval_mIoU``,
            ``retrieval_aAcc``, ``cross_view_top1``, ``cross_view_top5``,
            ``cross_view_chance_top1`` (those measured) and the counts
            ``num_train_images``, ``num_val_images``, ``num_train_patches`` (labeled
            patches of the train split), ``num_val_patches``, ``num_cross_view_anchors``.
        """
        device = torch.device(device or 'cpu')
        out: Dict[str, float] = dict(num_train_images=len(self.train),
                                     num_val_images=len(self.val))
        if 'train' in feats:
            setup = self._scorers(feats, device)
            num_classes = setup['num_classes']
            out.update(num_train_patches=setup['num_train_patches'],
                       num_val_patches=setup['num_val_patches'])
            cms = {name: torch.zeros(num_classes, num_classes, dtype=torch.long)
                   for name in setup['scorers']}
            for _, gt, preds in self.predictions(feats, device, setup):
                for name, pred in preds.items():
                    cms[name] += confusion_matrix(pred, gt, num_classes, self.ignore_index)
            for name, cm in cms.items():
                res = miou_from_confusion(cm)
                out[f'{name}_mIoU'], out[f'{name}_aAcc'] = res['mIoU'], res['aAcc']
        if 'view1' in feats:
            res = cross_view_consistency(feats['view1'].to(device), feats['view2'].to(device),
                                         feats['boxes'], feats['flips'], self.input_size)
            out.update(cross_view_top1=res['top1'], cross_view_top5=res['top5'],
                       cross_view_chance_top1=res['chance_top1'],
                       num_cross_view_anchors=res['num_anchors'])
        return out

    def run(self, backbone: nn.Module, device=None) -> Optional[Dict[str, float]]:
        """:meth:`extract` on all ranks, then :meth:`evaluate` on rank 0."""
        if device is None:
            device = next(backbone.parameters()).device
        feats = self.extract(backbone, device)
        return None if feats is None else self.evaluate(feats, device)


@torch.no_grad()
def recalibrate_batchnorm(backbone: nn.Module, imgs: Iterator[torch.Tensor]) -> int:
    """Re-estimate every BatchNorm's running statistics on ``imgs`` (BN re-estimation).

    A randomly initialised ResNet has running means 0 and variances 1, so in eval mode
    its BNs are identities and its deep features are an un-normalised sum of mostly
    low-level (colour) signals; a trained one uses data statistics. Re-estimating the
    statistics on the probe's own images puts both on the same footing: the baseline
    "random weights, data BN statistics" separates what training taught the weights
    from what the statistics alone change. The average over all batches is exact
    (``momentum=None``: cumulative); weights are untouched and the module goes back to
    eval mode.

    Args:
        backbone (nn.Module): the backbone (its BNs are updated in place).
        imgs (iterable[Tensor]): ``(B, 3, H, W)`` normalised batches on its device.

    Returns:
        int: number of BatchNorm layers re-estimated (0: nothing to do, e.g. a ViT).
    """
    norms = [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return 0
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    backbone.train()
    try:
        for x in imgs:
            backbone(x)
    finally:
        for m, mom in zip(norms, saved):
            m.momentum = mom
        backbone.eval()
    return len(norms)


# ------------------------------------------------------------------------ loading
def _backbone_cfg(cfg) -> dict:
    model = cfg.get('model')
    if model is None or 'backbone' not in model:
        raise KeyError('the config has no model.backbone')
    bcfg = model['backbone'].copy()
    bcfg.pop('init_cfg', None)  # weights come from the checkpoint (or a random init)
    kind = str(bcfg.get('type', ''))
    if 'ViT' in kind or 'VisionTransformer' in kind or 'out_type' in bcfg:
        bcfg['out_type'] = 'featmap'  # patch tokens as a (B, C, h, w) map
    return bcfg


def load_backbone_weights(backbone: nn.Module, state: Dict[str, torch.Tensor], prefix: str,
                          source: str = 'checkpoint') -> int:
    """Load ``state``'s keys under ``prefix`` into ``backbone``, strictly
    (:func:`mgc_mm.models.utils.load_state_strict`): ``KeyError`` without any key under
    ``prefix``, ``RuntimeError`` naming missing / unexpected keys.

    Returns:
        int: number of tensors loaded.
    """
    return load_state_strict(backbone, select_prefix(state, prefix, source), source, prefix)


def _quiet_init(module: nn.Module) -> None:
    # mmengine logs every parameter's initialisation when no log file is open.
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')
    try:
        module.init_weights()
    finally:
        logger.setLevel(level)


def build_backbone(checkpoint: Optional[str] = None,
                   config: Optional[str] = None,
                   branch: str = 'online',
                   random_init: bool = False,
                   seed: int = 0) -> Tuple[nn.Module, dict]:
    """The frozen backbone of an mgc_mm checkpoint (or its random-init baseline).

    The backbone is built from ``config`` if given, else from the config mmengine
    stored in the checkpoint (``meta['cfg']``); ViTs are switched to
    ``out_type='featmap'``.

    Args:
        checkpoint (str, optional): mgc_mm pretraining checkpoint; ``backbone.*`` is
            the online branch, ``momentum_encoder.module.backbone.*`` the momentum one.
        config (str, optional): config file with ``model.backbone``.
        branch (str): ``'online'`` or ``'momentum'``. Defaults to 'online'.
        random_init (bool): keep the backbone at its (seeded) initialisation: the
            baseline every method must beat. The checkpoint is then only read for its
            config.
        seed (int): seed of the random initialisation.

    Returns:
        tuple: the backbone in eval mode and a dict of what was loaded
        (``config``, ``branch``, ``prefix``, ``num_tensors``).
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import CheckpointLoader
    from mmengine.utils import import_modules_from_strings
    from mmpretrain.registry import MODELS

    from mgc_mm.utils import PRETRAINED_PREFIXES, load_config

    if branch not in PRETRAINED_PREFIXES:
        raise ValueError(f'branch must be one of {sorted(PRETRAINED_PREFIXES)}, got {branch!r}')
    if checkpoint is None and config is None:
        raise ValueError('need a checkpoint or a config (with random_init)')
    if checkpoint is None and not random_init:
        raise ValueError('need a checkpoint unless random_init is set')
    ckpt = None
    if checkpoint is not None:
        ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    if config is not None:
        cfg, cfg_source = load_config(config), config
    else:
        cfg_text = (ckpt.get('meta') or {}).get('cfg') if isinstance(ckpt, dict) else None
        if not cfg_text:
            raise KeyError(f'checkpoint {checkpoint} stores no config (meta.cfg): '
                           'pass --config')
        cfg = Config.fromstring(cfg_text, file_format='.py')
        cfg_source = f'{checkpoint} (meta.cfg)'
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpretrain')):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            backbone = MODELS.build(_backbone_cfg(cfg))
            if random_init:
                _quiet_init(backbone)
    info = dict(config=cfg_source, branch=None if random_init else branch, prefix=None,
                num_tensors=0)
    if not random_init:
        state = ckpt.get('state_dict', ckpt.get('model', ckpt))
        # mmpretrain's MoCo v2 / DenseCL / MoCo v3 keep their momentum backbone under
        # other names: the one alias lookup of the R50 / ViT loaders.
        prefix = resolve_momentum_prefix(state, PRETRAINED_PREFIXES[branch],
                                         f'checkpoint {checkpoint}')
        info.update(prefix=prefix, num_tensors=load_backbone_weights(
            backbone, state, prefix, f'checkpoint {checkpoint}'))
    backbone.eval()  # not chained: some backbones' train() returns None
    backbone.requires_grad_(False)
    return backbone, info


def dump_figures(figures: Dict[str, float], path: str) -> None:
    """Write the figures as JSON (NaN as null)."""
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v)
             for k, v in figures.items()}
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(clean, f, indent=2, sort_keys=True)
        f.write('\n')
