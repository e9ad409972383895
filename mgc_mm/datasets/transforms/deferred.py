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

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmcv.transforms import RandomFlip
from mmpretrain.datasets.transforms import RandomResizedCrop

from mgc_mm.registry import TRANSFORMS
from .batched_geometric import check_resize_mode
from .batched_photometric import (PHOTOMETRIC_TYPES, draw_photometric, identity_photometric,
                                  parse_photometric)
from .batched_randaugment import raw_method


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
                self.steps.append(('crop', (sampler, raw_method(sampler, 'rand_crop_params'))))
            elif typ == 'RandomFlip':
                flip = RandomFlip(**t)
                if flip.direction != 'horizontal' or not isinstance(flip.prob, float):
                    raise ValueError(f'RandomFlip({t}): only one horizontal flip '
                                     'probability has a batched counterpart')
                self.steps.append(('flip', raw_method(flip, '_choose_direction')))
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
                sampler, crop_params = step
                y, x, h, w = crop_params(ShapeOnly(hw))
                view['box'] = (int(x), int(y), int(w), int(h))
                view['size'] = (int(sampler.scale[1]), int(sampler.scale[0]))
                view['resize'] = (sampler.backend, sampler.interpolation)
            elif kind == 'flip':
                view['flip'] = step() == 'horizontal'
            else:
                draw_photometric(step, out=view['photometric'], size=view['size'])
        return view


_NESTED = ('MultiView', 'MultiViewWithKeys', 'WeakStrongAug')


class _Counter:
    """Numbers the view pipelines of a plan tree (views of one number render together)."""

    def __init__(self) -> None:
        self.next = 0

    def __call__(self) -> int:
        self.next += 1
        return self.next - 1


def _plan_node(pipeline: Sequence[dict], ids: _Counter):
    """A view pipeline as a plan node: a :class:`ViewPlan`, or a nested composition."""
    pipeline = [dict(t) for t in pipeline]
    nested = [t['type'] for t in pipeline if t['type'] in _NESTED]
    if not nested:
        return _Leaf(ViewPlan(pipeline), ids())
    if len(pipeline) != 1:
        raise ValueError(f'{nested[0]} must be alone in its view pipeline to be deferred '
                         "(pixel_pipeline='device')")
    t = pipeline[0]
    if t['type'] == 'WeakStrongAug':
        return _WeakStrongNode(t, ids)
    return _MultiViewNode(t['transforms'], t['num_views'], t.get('keys', ()), ids)


class _Leaf:

    def __init__(self, plan: ViewPlan, index: int) -> None:
        self.plan, self.index = plan, index

    def draw(self, hw) -> Tuple[List[Dict], Dict[str, list]]:
        return [dict(self.plan.draw(hw), pipeline=self.index)], {}


class _MultiViewNode:
    """``MultiView`` / ``MultiViewWithKeys``: views in order, per-view keys collected."""

    def __init__(self, transforms, num_views, keys, ids: _Counter) -> None:
        if isinstance(num_views, int):
            num_views = [num_views]
        if len(transforms) != len(num_views):
            raise ValueError(f'{len(transforms)} view pipelines for num_views {num_views}')
        self.groups = [(_plan_node(copy.deepcopy(t), ids), int(n))
                       for t, n in zip(transforms, num_views)]
        self.num_views = list(num_views)
        self.keys = tuple(keys)

    def draw(self, hw) -> Tuple[List[Dict], Dict[str, list]]:
        views, collected = [], {key: [] for key in self.keys}
        for node, n in self.groups:
            for _ in range(n):
                sub, keys = node.draw(hw)
                views.extend(sub)
                for key in self.keys:
                    if key not in keys:
                        raise KeyError(f'a view pipeline did not set {key!r}')
                    collected[key].extend(keys[key])
        return views, collected


class _WeakStrongNode:
    """:class:`~mgc_mm.datasets.transforms.WeakStrongAug`: the same draw, then a branch."""

    def __init__(self, cfg: dict, ids: _Counter) -> None:
        from .multi_view import WeakStrongAug
        self.strong_prob = float(cfg.get('strong_prob', 0.5))
        WeakStrongAug.check_args(cfg.get('strong'), self.strong_prob)
        self.weak = _plan_node(cfg['weak'], ids)
        self.strong = None if cfg.get('strong') is None else _plan_node(cfg['strong'], ids)

    def draw(self, hw) -> Tuple[List[Dict], Dict[str, list]]:
        strong = self.strong_prob > 0 and bool(np.random.rand() < self.strong_prob)
        views, keys = (self.strong if strong else self.weak).draw(hw)
        return views, dict(keys, weak_aug=[not strong] * len(views))


@TRANSFORMS.register_module()
class DeferredMultiView(BaseTransform):
    """mmpretrain's ``MultiView`` for ``pixel_pipeline='device'``: parameters, no pixels.

    The same arguments and the same order of views and draws as ``MultiView``
    (``num_views[0]`` views of ``transforms[0]``, then the next pipeline's), each view
    a :class:`ViewPlan` draw. A view pipeline may be one nested ``MultiView`` /
    ``MultiViewWithKeys`` / ``WeakStrongAug`` (Mugs), deferred the same way.

    Required Keys: ``img_shape``. Added Keys: ``view_params`` (list, one dict a view).

    Args:
        transforms (list[list[dict]]): one view pipeline per group.
        num_views (int | list[int]): views of each pipeline.
    """

    keys: Tuple[str, ...] = ()

    def __init__(self, transforms: List[List[dict]], num_views: Union[int, List[int]]) -> None:
        self.root = _MultiViewNode(transforms, num_views, self.keys, _Counter())
        self.num_views = self.root.num_views

    def transform(self, results: dict) -> dict:
        views, keys = self.root.draw(results['img_shape'])
        results['view_params'] = views
        for key, values in keys.items():
            # As MultiViewWithKeys: one tensor entry per view.
            results[key] = torch.from_numpy(np.asarray(values))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_views={self.num_views}, keys={self.keys})'


@TRANSFORMS.register_module()
class DeferredMultiViewWithKeys(DeferredMultiView):
    """:class:`~mgc_mm.datasets.transforms.MultiViewWithKeys` for
    ``pixel_pipeline='device'``: the same views, draws and per-view keys
    (``weak_aug``), no pixels.

    Args:
        transforms (list[list[dict]]): one view pipeline per group.
        num_views (int | list[int]): views of each pipeline.
        keys (sequence[str]): per-view keys. Defaults to ``('weak_aug',)``.
    """

    def __init__(self, transforms: List[List[dict]], num_views: Union[int, List[int]],
                 keys: Sequence[str] = ('weak_aug', )) -> None:
        self.keys = tuple(keys)
        super().__init__(transforms, num_views)
