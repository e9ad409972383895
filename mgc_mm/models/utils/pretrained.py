"""Strict loading of pretrained weights, the one place every backbone and tool uses.

mmengine's ``Pretrained`` init is non-strict: a checkpoint of another architecture, a
wrong prefix or a renamed key leaves weights at random init with only a log line.
These helpers stop instead, naming the keys.
"""
from typing import Dict

import torch
from mmengine.logging import print_log
from torch import nn

# mmpretrain's MoCo / DenseCL keep the momentum backbone as `encoder_k` and BYOL /
# MoCo v3 as `momentum_encoder`, both EMA(Sequential(backbone, neck)): the backbone is
# item 0. mgc_mm's methods (MGC, Mugs, ...) use a ModuleDict
# (`momentum_encoder.module.backbone.`), the prefix `--pretrained-branch momentum` sets.
MOMENTUM_BACKBONE_PREFIX = 'momentum_encoder.module.backbone.'
MOMENTUM_BACKBONE_ALIASES = ('encoder_k.module.0.', 'momentum_encoder.module.0.')


def resolve_momentum_prefix(state: Dict[str, torch.Tensor], prefix: str, source: str,
                            part: str = '') -> str:
    """``prefix``, or where an mmpretrain checkpoint keeps the momentum backbone.

    Only the momentum prefix has aliases, and only when the checkpoint has no key under
    ``prefix + part``: a checkpoint with mgc_mm's layout always loads from it. The alias
    taken is logged, so the log says which tensors were loaded.
    """
    if prefix != MOMENTUM_BACKBONE_PREFIX or any(k.startswith(prefix + part) for k in state):
        return prefix
    for alias in MOMENTUM_BACKBONE_ALIASES:
        if any(k.startswith(alias + part) for k in state):
            print_log(f'{source}: no {prefix!r} keys; the momentum backbone of this '
                      f'(mmpretrain) checkpoint is under {alias!r}', logger='current')
            return alias
    return prefix  # select_prefix then names what the checkpoint has


def select_prefix(state: Dict[str, torch.Tensor], prefix: str,
                  source: str) -> Dict[str, torch.Tensor]:
    """The tensors of ``state`` under ``prefix``, with the prefix removed.

    Raises:
        KeyError: no key starts with ``prefix`` (the top-level names are listed).
    """
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not sub:
        heads = sorted({k.split('.')[0] for k in state})
        raise KeyError(f'{source} has no key starting with {prefix!r} '
                       f'(top-level names: {heads})')
    return sub


def load_state_strict(module: nn.Module, sub: Dict[str, torch.Tensor], source: str,
                      prefix: str = '') -> int:
    """Load ``sub`` into ``module``: every key of the module present, none left over.

    Returns:
        int: number of tensors loaded.

    Raises:
        RuntimeError: naming the missing and unexpected keys (and the source).
    """
    missing, unexpected = module.load_state_dict(sub, strict=False)
    if missing or unexpected:
        raise RuntimeError(
            f'{source} (prefix {prefix!r}) does not match {type(module).__name__}: '
            f'missing keys {sorted(missing)}, unexpected keys {sorted(unexpected)}')
    return len(sub)
