"""Views drawn without pixels: the CPU half of ``pixel_pipeline='device'``.

A CPU worker of the device pipeline reads a file's bytes and its header
(``LoadImageFromFileSafe(decode=False)``), then draws, for every view, what the
per-sample CPU transforms would draw — the crop box in original-image pixels, the
flip, the photometric parameters — with the same calls on the same generators in
the same order, so the same seed gives the same views on both paths (up to the
resampling rounding of ``batched_geometric``). The training device renders them in
batches (:class:`~mgc_mm.models.utils.DevicePixelPreprocessor`).

Each view is a dict ``view_params`` entry: ``box`` ``(x, y, w, h)``, ``flip``,
``size`` ``(h, w)``, ``resize`` ``(backend, interpolation)``, ``ops`` (the
photometric op names in order) and ``photometric``
(:func:`~mgc_mm.datasets.transforms.batched_photometric.draw_photometric`), plus
``pipeline``, the index of the view pipeline that drew it (views of one index are
rendered as one batch).
"""
import copy
from typing import Dict, List, Sequence, Tuple, Union

from mmcv.transforms import BaseTransform
from mmcv.transforms import RandomFlip
from mmpretrain.datasets.transforms import RandomResizedCrop

from mgc_mm.registry import TRANSFORMS
from .batched_geometric import check_resize_mode
from .batched_photometric import (PHOTOMETRIC_TYPES, draw_photometric, identity_photometric,
                                  parse_photometric)


class ShapeOnly:
    """Stands in for an image where a sampler reads only ``img.shape``."""

    def __init__(self, hw: Tuple[int, int]) -> None:
        self.shape = (int(hw[0]), int(hw[1]), 3)


class ViewPlan:
    """A view pipeline config, parsed to draw its parameters without pixels.

    Accepts mmpretrain's ``RandomResizedCrop`` (cv2 or pillow, bilinear or bicubic),
    mmcv's horizontal ``RandomFlip`` and the photometric transforms of
    :func:`~mgc_mm.datasets.transforms.batched_photometric.parse_photometric`, in any
    order (draws follow the config's order; horizontal flips commute with every
    photometric op, so the device applies them with the crop). Anything else raises
    ``ValueError`` naming the transform.

    Args:
        pipeline (list[dict]): the view pipeline of the CPU path.
        crop (bool): whether the pipeline must crop (``MultiView`` views) or must not
            (the photometric pipelines of ``CoupledRandomResizedCrop``).
    """

    def __init__(self, pipeline: Sequence[dict], crop: bool = True) -> None:
        self.steps: List[tuple] = []
        self.specs: List[tuple] = []
        for t in pipeline:
            t = dict(t)
            typ = t.pop('type')
            if typ == 'RandomResizedCrop':
                sampler = RandomResizedCrop(**t)
                check_resize_mode(sampler.backend, sampler.interpolation)
                self.steps.append(('crop', sampler))
            elif typ == 'RandomFlip':
                flip = RandomFlip(**t)
                if flip.direction != 'horizontal' or not isinstance(flip.prob, float):
                    raise ValueError(f'RandomFlip({t}): only one horizontal flip '
                                     'probability has a batched counterpart')
                self.steps.append(('flip', flip))
            elif typ in PHOTOMETRIC_TYPES:
                spec = parse_photometric([dict(t, type=typ)])
                self.specs.extend(spec)
                self.steps.append(('photometric', spec))
            else:
                raise ValueError(f'view transform {typ} has no device counterpart '
                                 "(pixel_pipeline='device')")
        self.ops = tuple(kind for kind, _, _ in self.specs)
        crops = [s for s in self.steps if s[0] == 'crop']
        if crop and (len(crops) != 1 or self.steps[0][0] != 'crop'):
            raise ValueError('a device view pipeline starts with its one RandomResizedCrop')
        if not crop and (crops or any(s[0] == 'flip' for s in self.steps)):
            raise ValueError('these view pipelines are photometric only (the coupled crop '
                             'draws boxes and flips)')

    def draw(self, hw: Tuple[int, int]) -> Dict:
        """One view's parameters for an image of ``hw`` (height, width) pixels."""
        view = dict(box=(0, 0, int(hw[1]), int(hw[0])), flip=False, size=None,
                    resize=None, ops=self.ops, photometric=identity_photometric())
        for kind, step in self.steps:
            if kind == 'crop':
                y, x, h, w = step.rand_crop_params(ShapeOnly(hw))
                view['box'] = (int(x), int(y), int(w), int(h))
                view['size'] = (int(step.scale[1]), int(step.scale[0]))
                view['resize'] = (step.backend, step.interpolation)
            elif kind == 'flip':
                view['flip'] = step._choose_direction() == 'horizontal'
            else:
                draw_photometric(step, out=view['photometric'])
        return view


@TRANSFORMS.register_module()
class DeferredMultiView(BaseTransform):
    """mmpretrain's ``MultiView`` for ``pixel_pipeline='device'``: parameters, no pixels.

    The same arguments and the same order of views and draws as ``MultiView``
    (``num_views[0]`` views of ``transforms[0]``, then the next pipeline's), each view
    a :class:`ViewPlan` draw.

    Required Keys: ``img_shape``. Added Keys: ``view_params`` (list, one dict a view).

    Args:
        transforms (list[list[dict]]): one view pipeline per group.
        num_views (int | list[int]): views of each pipeline.
    """

    def __init__(self, transforms: List[List[dict]], num_views: Union[int, List[int]]) -> None:
        if isinstance(num_views, int):
            num_views = [num_views]
        if len(transforms) != len(num_views):
            raise ValueError(f'{len(transforms)} view pipelines for num_views {num_views}')
        self.plans = [ViewPlan(copy.deepcopy(t)) for t in transforms]
        self.num_views = list(num_views)

    def transform(self, results: dict) -> dict:
        hw = results['img_shape']
        views = []
        for index, (plan, n) in enumerate(zip(self.plans, self.num_views)):
            for _ in range(n):
                views.append(dict(plan.draw(hw), pipeline=index))
        results['view_params'] = views
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_views={self.num_views}, plans={len(self.plans)})'
