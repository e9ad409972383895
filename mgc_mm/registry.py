"""Registries used by mgc_mm.

Pretraining components register into mmpretrain's registries, so that configs with
``default_scope = 'mmpretrain'`` plus ``custom_imports = dict(imports=['mgc_mm'])``
find them next to mmpretrain's own backbones, necks, heads and transforms.
Components for the downstream toolboxes register into mmdet / mmseg / mmpose
registries in :mod:`mgc_mm.downstream`.
"""
from mmpretrain.registry import DATASETS, MODELS, OPTIM_WRAPPERS, TRANSFORMS

__all__ = ['DATASETS', 'MODELS', 'OPTIM_WRAPPERS', 'TRANSFORMS']
