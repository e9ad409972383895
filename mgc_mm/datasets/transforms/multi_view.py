"""Multi-crop composition with per-view keys, and the weak / strong choice of Mugs.

Mugs (specs/mugs.md §1) feeds each image as 2 teacher globals, 2 student globals and
10 locals, each view weakly or strongly augmented, and keeps which views were weak
(the student's local-group memory takes weakly augmented samples only). mmpretrain's
``MultiView`` composes the views but keeps only ``img`` of each; the two transforms
here add the flag and carry it through.
"""
import copy
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmcv.transforms.utils import cache_randomness
from mmpretrain.datasets.transforms import MultiView

from mgc_mm.registry import TRANSFORMS

Transform = Union[dict, Callable[[dict], dict]]


@TRANSFORMS.register_module()
class MultiViewWithKeys(MultiView):
    """mmpretrain's ``MultiView`` that also collects per-view keys.

    The views are produced in order (``num_views[0]`` views of ``transforms[0]``,
    then ``num_views[1]`` of ``transforms[1]``, ...), each from a deep copy of the
    input. A view pipeline may itself produce several views (``img`` a list, e.g. a
    nested ``MultiViewWithKeys`` inside a :class:`WeakStrongAug`, so that several
    views share one weak / strong draw); its views are spliced into the output in
    place, and a scalar key value is repeated for each of them.

    Each collected key becomes one ``torch.Tensor`` with one entry per output view,
    because ``PackInputs(algorithm_keys=...)`` stores algorithm keys as they are
    (a NumPy array would reach the model as a NumPy array).

    Required Keys: ``img``. Modified Keys: ``img`` (list of views). Added Keys: each
    of ``keys``, a tensor of shape ``(total views,)``.

    Args:
        transforms (list[list[dict | callable]]): one pipeline per view group.
        num_views (int | list[int]): views of each pipeline.
        keys (sequence[str]): per-view keys that every view pipeline must set
            (scalar, or one value per view it makes). Defaults to ``('weak_aug',)``.
    """

    def __init__(self,
                 transforms: List[List[Transform]],
                 num_views: Union[int, List[int]],
                 keys: Sequence[str] = ('weak_aug', )) -> None:
        super().__init__(transforms, list(num_views) if isinstance(num_views, Sequence)
                         else num_views)
        self.keys = tuple(keys)

    def transform(self, results: dict) -> Optional[dict]:
        views = []
        collected = {key: [] for key in self.keys}
        for trans in self.transforms:
            out = trans(copy.deepcopy(results))
            if out is None:  # a view pipeline refused the sample: drop it whole
                return None
            imgs = out['img'] if isinstance(out['img'], list) else [out['img']]
            views.extend(imgs)
            for key in self.keys:
                if key not in out:
                    raise KeyError(f'view pipeline {trans} did not set {key!r}')
                value = np.asarray(out[key])
                if value.ndim == 0:
                    value = np.repeat(value, len(imgs))
                if value.shape[:1] != (len(imgs), ):
                    raise ValueError(f'{key!r} has shape {value.shape} for {len(imgs)} views')
                collected[key].append(value)
        results['img'] = views
        for key, values in collected.items():
            results[key] = torch.from_numpy(np.concatenate(values))
        return results

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f'\nkeys={self.keys})'


@TRANSFORMS.register_module()
class WeakStrongAug(BaseTransform):
    """Apply the ``strong`` pipeline with probability ``strong_prob``, else ``weak``.

    Sets ``results['weak_aug']`` to whether the weak pipeline was applied. The choice
    is drawn from NumPy's global generator, as mmcv's and mmpretrain's random
    transforms draw theirs, so seeding (``EpochSeedHook``, dataloader worker seeds)
    makes it reproducible. With ``strong_prob=0`` nothing is drawn: the teacher views
    of Mugs are ``WeakStrongAug(weak, strong_prob=0.)``, always weak.

    Required Keys: those of the sub-pipelines. Modified Keys: those of the chosen
    sub-pipeline. Added Keys: ``weak_aug`` (bool).

    Args:
        weak (list[dict | callable]): the weak pipeline.
        strong (list[dict | callable], optional): the strong pipeline; may be omitted
            only when ``strong_prob`` is 0.
        strong_prob (float): probability of the strong pipeline. Defaults to 0.5.
    """

    def __init__(self,
                 weak: List[Transform],
                 strong: Optional[List[Transform]] = None,
                 strong_prob: float = 0.5) -> None:
        self.check_args(strong, strong_prob)
        self.weak = Compose(weak)
        self.strong = Compose(strong) if strong is not None else None
        self.strong_prob = strong_prob

    @staticmethod
    def check_args(strong: Optional[list], strong_prob: float) -> None:
        """Validate the arguments (shared with the deferred counterpart)."""
        if not 0. <= strong_prob <= 1.:
            raise ValueError(f'strong_prob must be in [0, 1], got {strong_prob}')
        if strong is None and strong_prob > 0:
            raise ValueError('a strong pipeline is needed when strong_prob > 0')

    @cache_randomness
    def draw_strong(self) -> bool:
        """Whether this sample takes the strong pipeline."""
        if self.strong_prob == 0:  # draw nothing: teacher views keep the RNG stream
            return False
        return bool(np.random.rand() < self.strong_prob)

    def transform(self, results: dict) -> Optional[dict]:
        strong = self.draw_strong()
        results = (self.strong if strong else self.weak)(results)
        if results is not None:
            results['weak_aug'] = not strong
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(strong_prob={self.strong_prob},\n'
                f'weak={self.weak},\nstrong={self.strong})')
