from typing import List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmpretrain.datasets.transforms import ColorJitter as _MMPretrainColorJitter
from mmpretrain.datasets.transforms import RandomResizedCrop

from mgc_mm.models.utils import grain_correspondences
from mgc_mm.registry import TRANSFORMS
from .batched_geometric import check_resize_mode
from .deferred import ShapeOnly, ViewPlan


def adjust_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Shift the hue of a uint8 BGR image by ``hue_factor`` of a full turn.

    ``hue_factor`` in ``[-0.5, 0.5]`` as in torchvision. The hue channel of OpenCV's
    full-range HSV is a uint8 angle (256 steps a turn), so the shift is a modular
    lookup table; mmcv's ``adjust_hue`` instead adds a negative Python int to a uint8
    array, which NumPy 2 refuses (OverflowError).
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5]')
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise TypeError('adjust_hue expects a uint8 image of shape (H, W, 3)')
    shift = int(round(hue_factor * 256)) % 256
    if shift == 0:
        return img
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    lut = ((np.arange(256, dtype=np.int32) + shift) % 256).astype(np.uint8)
    hsv[..., 0] = cv2.LUT(hsv[..., 0], lut)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


@TRANSFORMS.register_module()
class CV2ColorJitter(_MMPretrainColorJitter):
    """mmpretrain's ``ColorJitter`` (torchvision semantics: the four adjustments in a
    random order with uniformly drawn factors) computed with OpenCV, with a correct
    hue shift (:func:`adjust_hue`). Expects uint8 BGR images.

    Args:
        brightness, contrast, saturation, hue: as mmpretrain's ``ColorJitter``.
    """

    def __init__(self, brightness=0., contrast=0., saturation=0., hue=0.) -> None:
        super().__init__(brightness, contrast, saturation, hue, backend='cv2')

    def transform(self, results: dict) -> dict:
        img = results['img']
        order, brightness, contrast, saturation, hue = self._rand_params()
        for index in order:
            if index == 0 and brightness is not None:
                img = mmcv.adjust_brightness(img, brightness, backend='cv2')
            elif index == 1 and contrast is not None:
                img = mmcv.adjust_contrast(img, contrast, backend='cv2')
            elif index == 2 and saturation is not None:
                img = mmcv.adjust_color(img, alpha=saturation, backend='cv2')
            elif index == 3 and hue is not None:
                img = adjust_hue(img, hue)
        results['img'] = img
        return results


@TRANSFORMS.register_module()
class CV2GaussianBlur(BaseTransform):
    """Gaussian blur with ``sigma ~ U(sigma_range)`` applied with probability ``prob``.

    OpenCV's separable blur with the kernel OpenCV derives from sigma (the same
    filter as PIL's ``GaussianBlur(radius=sigma)`` used by MoCo / BYOL recipes up to
    the kernel truncation), several times faster than the PIL round trip.

    Args:
        sigma_range (tuple): range of the standard deviation in pixels.
        prob (float): probability of blurring.
    """

    def __init__(self, sigma_range: Tuple[float, float] = (0.1, 2.0), prob: float = 0.5) -> None:
        if not 0 < sigma_range[0] <= sigma_range[1]:
            raise ValueError(f'invalid sigma_range {sigma_range}')
        self.sigma_range = tuple(sigma_range)
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            sigma = np.random.uniform(*self.sigma_range)
            results['img'] = cv2.GaussianBlur(results['img'], (0, 0), sigmaX=sigma, sigmaY=sigma)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(sigma_range={self.sigma_range}, prob={self.prob})'


def box_iou_xywh(a: Sequence[int], b: Sequence[int]) -> float:
    """IoU of two ``(x, y, w, h)`` boxes."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(iw, 0) * max(ih, 0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@TRANSFORMS.register_module()
class CoupledRandomResizedCrop(BaseTransform):
    """Two overlapping random-resized crops of one image (MGC spec §1).

    View 1 is a random resized crop; view 2 is drawn the same way until its IoU with
    view 1 exceeds ``min_iou`` (at most ``max_tries`` draws, then view 2 reuses view
    1's box so that the IoU rule always holds). Each view is then flipped
    horizontally with probability ``flip_prob``, independently, and goes through its
    own photometric pipeline.

    Required Keys: ``img``. Modified Keys: ``img`` (a list of two views),
    ``img_shape``. Added Keys: ``crop_boxes`` (``(2, 4)`` int64 ``(x, y, w, h)`` in
    original-image pixels), ``crop_flips`` (``(2,)`` bool).

    Args:
        size (int): side of the square views. Defaults to 224.
        scale (tuple): range of the crop area relative to the image.
        ratio (tuple): range of the crop aspect ratio.
        min_iou (float): view 2 must overlap view 1 with IoU strictly above this.
        max_tries (int): draws of view 2 before falling back to view 1's box.
        flip_prob (float): probability of a horizontal flip, per view.
        interpolation (str): resize interpolation. Defaults to 'bilinear'.
        view_pipelines (list[list[dict]], optional): one photometric pipeline per
            view, applied after cropping and flipping.
        defer_pixels (bool): draw everything but touch no pixels
            (``pixel_pipeline='device'``): needs ``img_shape`` (from
            ``LoadImageFromFileSafe(decode=False)``), adds ``view_params`` (see
            :mod:`~mgc_mm.datasets.transforms.deferred`) instead of ``img``; boxes,
            flips and photometric parameters are the ones the pixel path draws from
            the same seed.
    """

    def __init__(self,
                 size: int = 224,
                 scale: Tuple[float, float] = (0.2, 1.0),
                 ratio: Tuple[float, float] = (3. / 4., 4. / 3.),
                 min_iou: float = 0.2,
                 max_tries: int = 100,
                 flip_prob: float = 0.5,
                 interpolation: str = 'bilinear',
                 view_pipelines: Optional[List[List[dict]]] = None,
                 defer_pixels: bool = False) -> None:
        if max_tries < 1:
            raise ValueError(f'max_tries must be >= 1, got {max_tries}')
        self.size = size
        self.min_iou = min_iou
        self.max_tries = max_tries
        self.flip_prob = flip_prob
        self.interpolation = interpolation
        # Reuse mmpretrain's box sampler (torchvision semantics, 10 attempts, centre
        # fallback); only its rand_crop_params is used.
        self.sampler = RandomResizedCrop(
            scale=size, crop_ratio_range=scale, aspect_ratio_range=ratio,
            interpolation=interpolation)
        view_pipelines = view_pipelines or [[], []]
        if len(view_pipelines) != 2:
            raise ValueError(f'view_pipelines needs 2 pipelines, got {len(view_pipelines)}')
        self.defer_pixels = defer_pixels
        if defer_pixels:
            check_resize_mode('cv2', interpolation)
            self.view_plans = [ViewPlan(p, crop=False) for p in view_pipelines]
        self.view_pipelines = [Compose(p) for p in view_pipelines]

    def _draw_box(self, img: np.ndarray) -> Tuple[int, int, int, int]:
        y, x, h, w = self.sampler.rand_crop_params(img)
        return int(x), int(y), int(w), int(h)

    def draw_boxes(self, img: np.ndarray) -> Tuple[tuple, tuple]:
        b1 = self._draw_box(img)
        for _ in range(self.max_tries):
            b2 = self._draw_box(img)
            if box_iou_xywh(b1, b2) > self.min_iou:
                return b1, b2
        return b1, b1

    def _crop(self, img: np.ndarray, box: tuple, flip: bool) -> np.ndarray:
        x, y, w, h = box
        view = mmcv.imresize(img[y:y + h, x:x + w], (self.size, self.size),
                             interpolation=self.interpolation)
        return np.ascontiguousarray(view[:, ::-1]) if flip else view

    def transform(self, results: dict) -> Optional[dict]:
        if self.defer_pixels:
            return self._defer(results)
        img = results['img']
        boxes = self.draw_boxes(img)
        flips = np.random.rand(2) < self.flip_prob
        views = []
        for box, flip, pipeline in zip(boxes, flips, self.view_pipelines):
            out = pipeline(dict(img=self._crop(img, box, bool(flip))))
            if out is None:
                return None
            views.append(out['img'])
        results['img'] = views
        results['img_shape'] = views[0].shape[:2]
        results['crop_boxes'] = np.asarray(boxes, dtype=np.int64)
        results['crop_flips'] = flips
        return results

    def _defer(self, results: dict) -> dict:
        # The draws of transform() in the same order: boxes, flips, view 1's pipeline,
        # view 2's pipeline.
        boxes = self.draw_boxes(ShapeOnly(results['img_shape']))
        flips = np.random.rand(2) < self.flip_prob
        views = []
        for box, flip, plan in zip(boxes, flips, self.view_plans):
            view = plan.draw(results['img_shape'])
            view.update(box=tuple(box), flip=bool(flip), size=(self.size, self.size),
                        resize=('cv2', self.interpolation), pipeline=len(views))
            views.append(view)
        results['view_params'] = views
        results['img_shape'] = (self.size, self.size)
        results['crop_boxes'] = np.asarray(boxes, dtype=np.int64)
        results['crop_flips'] = flips
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, sampler={self.sampler!r}, '
                f'min_iou={self.min_iou}, max_tries={self.max_tries}, '
                f'flip_prob={self.flip_prob}, view_pipelines={self.view_pipelines})')


@TRANSFORMS.register_module()
class MultiGrainCorrespondences(BaseTransform):
    """Exact token correspondences of the two coupled views at several grains.

    Required Keys: ``crop_boxes``, ``crop_flips`` (from
    :class:`CoupledRandomResizedCrop`). Added Keys: ``correspondences``, a dict
    ``{grain: dict(idx1, idx2, weight, valid)}`` of ``(K,)`` tensors
    (see :func:`mgc_mm.models.utils.grain_correspondences`).

    Args:
        grains (sequence[int]): cell sizes in view pixels. Defaults to (16, 32, 112).
        view_size (int): side of the views. Defaults to 224.
        grain_cfgs (dict, optional): per-grain overrides of ``num_pairs``,
            ``stride_factors``, ``row_clamp``, ``col_clamp``.
    """

    def __init__(self, grains: Sequence[int] = (16, 32, 112), view_size: int = 224,
                 grain_cfgs: Optional[dict] = None) -> None:
        self.grains = tuple(int(g) for g in grains)
        self.view_size = view_size
        self.grain_cfgs = {int(k): dict(v) for k, v in (grain_cfgs or {}).items()}

    def transform(self, results: dict) -> dict:
        boxes = torch.from_numpy(np.asarray(results['crop_boxes'], dtype=np.int64))
        flips = torch.from_numpy(np.asarray(results['crop_flips'], dtype=bool))
        corr = {}
        for g in self.grains:
            out = grain_correspondences(boxes[0:1], boxes[1:2], flips[0:1], flips[1:2], g,
                                        view_size=self.view_size, **self.grain_cfgs.get(g, {}))
            corr[g] = {k: v[0] for k, v in out._asdict().items()}
        results['correspondences'] = corr
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(grains={self.grains}, view_size={self.view_size}, '
                f'grain_cfgs={self.grain_cfgs})')
