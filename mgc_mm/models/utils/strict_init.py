"""Strict ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)`` for the
downstream ResNet, FPN and box head (``PretrainedResNet``, ``PretrainedResLayer``,
``PretrainedFPN``, ``PretrainedShared4Conv1FCBBoxHead``).

mmengine's ``Pretrained`` initialiser is non-strict: a wrong prefix, a checkpoint of
another architecture or a renamed key leaves weights at random init with only a log
line. These modules handle their own ``Pretrained`` entry with
:func:`load_pretrained_strict`, which reads the checkpoint and loads through the one
strict helper pair of :mod:`.pretrained` (``select_prefix`` + ``load_state_strict``).
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log
from mmengine.model.weight_init import initialize
from mmengine.runner import CheckpointLoader
from torch import nn

# The momentum aliases are re-exported: they live with the strict helpers, which the
# ViT backbone (MGCViT) uses too.
from .pretrained import (MOMENTUM_BACKBONE_ALIASES, MOMENTUM_BACKBONE_PREFIX,  # noqa: F401
                         load_state_strict, resolve_momentum_prefix, select_prefix)

# The checkpoint of a benchmark config that the user has to give: `tools/train.py
# --pretrained CKPT` replaces it in every `Pretrained` init_cfg of the model
# (mgc_mm.utils.config.set_pretrained).
PRETRAINED_PLACEHOLDER = '${PRETRAINED}'

# Keys that only a ViT backbone has (mmpretrain / MGCViT names).
VIT_KEYS = ('patch_embed.', 'pos_embed', 'cls_token')

InitCfg = Union[dict, List[dict], None]


def split_pretrained_cfg(init_cfg: InitCfg) -> Tuple[Optional[dict], Optional[List[dict]]]:
    """The ``Pretrained`` entry of an ``init_cfg`` (a dict or a list of dicts) and the
    other entries (``None`` when there are none)."""
    if init_cfg is None:
        return None, None
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
    pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
    if len(pretrained) > 1:
        raise ValueError(f'init_cfg has {len(pretrained)} Pretrained entries, one at most')
    others = [c for c in cfgs if c.get('type') != 'Pretrained']
    return (pretrained[0] if pretrained else None), (others or None)


def load_pretrained_strict(module: nn.Module, init_cfg: dict, owner: str,
                           default_prefix: str, part: str = '',
                           leave: Sequence[str] = ()) -> int:
    """Load ``module`` from the checkpoint of a ``Pretrained`` init_cfg, strictly.

    The tensors under ``prefix + part`` must be exactly the keys of ``module``: any
    missing or unexpected key, or a wrong shape, stops the run with the keys named.

    Args:
        module (nn.Module): what to load (the owner itself, or one of its parts).
        init_cfg (dict): ``dict(type='Pretrained', checkpoint=..., prefix=...)``.
        owner (str): the class that loads, for the messages.
        default_prefix (str): prefix when ``init_cfg`` has none.
        part (str): key prefix of ``module`` under ``prefix``, e.g. ``'shared_convs.'``
            (the box head loads only its shared convs from ``region_head.``).
        leave (Sequence[str]): key prefixes under ``prefix + part`` that belong to another
            module of the model (R50-C4: ``'layer4.'``, which the RoI head loads); they
            are neither loaded here nor unexpected.

    Returns:
        int: number of tensors loaded.

    Raises:
        ValueError: no checkpoint given (``None`` or the placeholder), or a ViT
            checkpoint where a ResNet-family module is loading.
        KeyError: no key under the prefix.
        RuntimeError: missing or unexpected keys.
    """
    checkpoint = init_cfg.get('checkpoint')
    prefix = init_cfg.get('prefix') or default_prefix
    if checkpoint in (None, PRETRAINED_PLACEHOLDER):
        raise ValueError(f'{owner}: init_cfg checkpoint is {checkpoint!r}: pass the '
                         'pretraining checkpoint with `tools/train.py CONFIG --pretrained CKPT`')
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt.get('model', ckpt)) if isinstance(ckpt, dict) else ckpt
    prefix = resolve_momentum_prefix(state, prefix, checkpoint, part)
    vit = sorted({k[len(prefix):].split('.')[0] for k in state
                  if k.startswith(prefix) and k[len(prefix):].startswith(VIT_KEYS)})
    if vit:
        raise ValueError(f'{owner}: {checkpoint} is a ViT checkpoint ({prefix!r} holds '
                         f'{vit}), not a ResNet one; use a ViT benchmark config '
                         '(configs/benchmarks/*/*mgc-vit*)')
    source = f'checkpoint {checkpoint}'
    sub = select_prefix(state, prefix + part, source)
    left = sorted(k for k in sub if k.startswith(tuple(leave)))
    for k in left:
        del sub[k]
    n = load_state_strict(module, sub, source, prefix + part)
    note = (f'; left {len(left)} tensors under {sorted(set(leave))} to the module that '
            'builds them' if left else '')
    print_log(f'{owner}: loaded {n} tensors from {checkpoint} (prefix {prefix + part!r}), '
              f'no missing or unexpected keys{note}', logger='current')
    return n


def init_weights_strict(module: nn.Module, base_init: Callable[[], None], default_prefix: str,
                        target: Optional[nn.Module] = None, part: str = '',
                        leave: Sequence[str] = ()) -> None:
    """``init_weights`` of a strict downstream module, shared by all of them.

    Without a ``Pretrained`` entry in ``module.init_cfg`` it is ``base_init`` (the
    toolbox's own init); with one, the other entries are applied first, then
    ``target`` (default: ``module``) is loaded strictly by :func:`load_pretrained_strict`.
    """
    pretrained, others = split_pretrained_cfg(module.init_cfg)
    if pretrained is None:
        base_init()
        return
    if others:
        initialize(module, others)
    load_pretrained_strict(module if target is None else target, pretrained,
                           type(module).__name__, default_prefix, part=part, leave=leave)
    module._is_init = True
