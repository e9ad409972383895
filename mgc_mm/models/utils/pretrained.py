"""Strict loading of pretrained weights, the one place every backbone and tool uses.

mmengine's ``Pretrained`` init is non-strict: a checkpoint of another architecture, a
wrong prefix or a renamed key leaves weights at random init with only a log line.
These helpers stop instead, naming the keys.
"""
from typing import Dict

import torch
from torch import nn


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
