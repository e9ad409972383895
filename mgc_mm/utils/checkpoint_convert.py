"""Key layouts of ViT checkpoints: timm <-> mmpretrain, and the official MGC release.

The official MGC checkpoints hold timm ViTs under ``base_encoder.`` (online) and
``momentum_encoder.`` (momentum), possibly behind ``module.`` and a ``state_dict`` /
``model`` entry. mgc_mm keeps mmpretrain's names under ``backbone.`` and
``momentum_encoder.module.backbone.``.
"""
import copy
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

# timm name <-> mmpretrain name of every ViT backbone tensor group; {i} is a block index.
_KEY_PAIRS: List[Tuple[str, str]] = [
    ('patch_embed.proj.', 'patch_embed.projection.'),
    ('blocks.{i}.norm1.', 'layers.{i}.ln1.'),
    ('blocks.{i}.norm2.', 'layers.{i}.ln2.'),
    ('blocks.{i}.attn.qkv.', 'layers.{i}.attn.qkv.'),
    ('blocks.{i}.attn.proj.', 'layers.{i}.attn.proj.'),
    ('blocks.{i}.mlp.fc1.', 'layers.{i}.ffn.layers.0.0.'),
    ('blocks.{i}.mlp.fc2.', 'layers.{i}.ffn.layers.1.'),
    ('norm.', 'ln1.'),
    ('cls_token', 'cls_token'),
    ('pos_embed', 'pos_embed'),
]


def _rule(src: str, dst: str) -> Tuple[str, str]:
    """(regex, replacement) of a template pair: a template ending in '.' renames a key
    prefix, any other template must match the whole key."""
    pattern = '^' + re.escape(src).replace(r'\{i\}', r'(\d+)')
    return pattern + ('' if src.endswith('.') else '$'), dst.replace('{i}', r'\1')


_TIMM_TO_MMPRETRAIN = [_rule(t, m) for t, m in _KEY_PAIRS]
_MMPRETRAIN_TO_TIMM = [_rule(m, t) for t, m in _KEY_PAIRS]

ONLINE_PREFIX = 'backbone.'
MOMENTUM_PREFIX = 'momentum_encoder.module.backbone.'


def _rename(state: Dict[str, torch.Tensor], rules, what: str
            ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    out, left = {}, []
    for key, value in state.items():
        for pattern, repl in rules:
            new, n = re.subn(pattern, repl, key)
            if n:
                if new in out:
                    raise KeyError(f'{what}: two keys map to {new!r}')
                out[new] = value
                break
        else:
            left.append(key)
    return out, left


def timm_vit_to_mmpretrain(state: Dict[str, torch.Tensor], strict: bool = True
                           ) -> Dict[str, torch.Tensor]:
    """timm ``VisionTransformer`` keys -> mmpretrain ``VisionTransformer`` keys.

    With ``strict``, a key that is not part of the ViT backbone is an error (pass
    only the backbone's keys); otherwise such keys are dropped.
    """
    out, left = _rename(state, _TIMM_TO_MMPRETRAIN, 'timm -> mmpretrain')
    if left and strict:
        raise KeyError(f'keys that are not timm ViT backbone keys: {left}')
    return out


def mmpretrain_vit_to_timm(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """mmpretrain ``VisionTransformer`` keys -> timm ``VisionTransformer`` keys."""
    out, left = _rename(state, _MMPRETRAIN_TO_TIMM, 'mmpretrain -> timm')
    if left:
        raise KeyError(f'keys that are not mmpretrain ViT backbone keys: {left}')
    return out


def _unwrap(ckpt: dict) -> Dict[str, torch.Tensor]:
    for key in ('state_dict', 'model'):
        if isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in ckpt.items()}


def _split(state: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def official_mgc_to_mgc_mm(ckpt: dict) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Official MGC release checkpoint -> mgc_mm state dict (backbones only).

    Returns:
        the state dict with ``backbone.*`` (from ``base_encoder.``) and
        ``momentum_encoder.module.backbone.*`` (from ``momentum_encoder.``), and the
        names of the keys not converted (projection / prediction heads, whose
        layout differs from mgc_mm's and which fine-tuning does not use).
    """
    state = _unwrap(ckpt)
    out: Dict[str, torch.Tensor] = {}
    skipped: List[str] = []
    found = False
    for src, dst in (('base_encoder.', ONLINE_PREFIX), ('momentum_encoder.', MOMENTUM_PREFIX)):
        part = _split(state, src)
        if not part:
            continue
        found = True
        converted, left = _rename(part, _TIMM_TO_MMPRETRAIN, f'{src} -> {dst}')
        out.update({dst + k: v for k, v in converted.items()})
        skipped += [src + k for k in left]
    if not found:
        raise KeyError('not an official MGC checkpoint: no key starts with base_encoder. or '
                       f'momentum_encoder. (first keys: {list(state)[:5]})')
    skipped += [k for k in state if not k.startswith(('base_encoder.', 'momentum_encoder.'))]
    return out, skipped


BRANCH_PREFIXES = {'online': ONLINE_PREFIX, 'momentum': MOMENTUM_PREFIX}


def extract_backbone(ckpt: dict, branch: str = 'online', source: Optional[str] = None) -> dict:
    """The online or momentum backbone of an mgc_mm checkpoint, alone.

    The tensors are written under ``backbone.`` whatever the branch, so the result
    loads with the default ``--pretrained`` flags (``MGCViT``'s ``prefix='backbone.'``)
    exactly like the full checkpoint would with ``--pretrained-branch BRANCH``.
    Optimizer, scheduler and message-hub state, the momentum copy (or the online one)
    and the projection / prediction heads are dropped.

    Args:
        ckpt (dict): a loaded mgc_mm checkpoint (``state_dict`` / ``model`` entry or
            a bare state dict; a ``module.`` prefix is ignored).
        branch (str): ``'online'`` (``backbone.*``) or ``'momentum'``
            (``momentum_encoder.module.backbone.*``, or mmpretrain's ``encoder_k.module.0.*``
            / ``momentum_encoder.module.0.*``). Defaults to 'online'.
        source (str, optional): where ``ckpt`` came from, for messages and ``meta``.

    Returns:
        dict: ``state_dict`` (``backbone.*``) and ``meta``: the checkpoint's own meta
        plus ``extract_backbone=dict(source, branch, prefix, num_tensors)``.

    Raises:
        KeyError: if no key starts with the branch's prefix (file and prefixes named).
    """
    if branch not in BRANCH_PREFIXES:  # same names as tools/train.py --pretrained-branch
        raise ValueError(f"branch must be 'online' or 'momentum', got {branch!r}")
    if not isinstance(ckpt, dict):
        raise TypeError(f'{source or "checkpoint"}: expected a dict, got {type(ckpt).__name__}')
    prefix = BRANCH_PREFIXES[branch]
    part = _split(_unwrap(ckpt), prefix)
    if not part and branch == 'momentum':
        # mmpretrain's MoCo / DenseCL / BYOL keep it elsewhere (EMA of Sequential).
        from mgc_mm.models.utils.strict_init import MOMENTUM_BACKBONE_ALIASES
        for alias in MOMENTUM_BACKBONE_ALIASES:
            part = _split(_unwrap(ckpt), alias)
            if part:
                prefix = alias
                break
    meta = copy.deepcopy(ckpt.get('meta')) if isinstance(ckpt.get('meta'), dict) else {}
    if not part:
        state = _unwrap(ckpt)
        heads = sorted({k.split('.')[0] for k in state})
        hint = ''
        done = meta.get('extract_backbone')
        if isinstance(done, dict):  # an extracted file keeps one branch under backbone.
            hint = (f"; it is already an extracted {done.get('branch')} backbone: use "
                    "--branch online on it")
        raise KeyError(f'{source or "checkpoint"} has no {branch} backbone: no key starts '
                       f'with {prefix!r} (looked in its state_dict / model entry, without a '
                       f"'module.' prefix; branch prefixes: {BRANCH_PREFIXES}); top-level "
                       f'names: {heads}{hint}')
    state_dict = OrderedDict((ONLINE_PREFIX + k, v) for k, v in part.items())
    previous = meta.get('extract_backbone')
    if isinstance(previous, dict):  # extracting an extracted file keeps its origin
        meta['extract_backbone'] = previous
    else:
        meta['extract_backbone'] = dict(source=source, branch=branch, prefix=prefix,
                                        num_tensors=len(state_dict))
    return dict(state_dict=state_dict, meta=meta)


def mgc_mm_to_timm(ckpt: dict, branch: str = 'online') -> Dict[str, torch.Tensor]:
    """The online or momentum backbone of an mgc_mm checkpoint as a timm ViT state dict."""
    prefixes = {'online': ONLINE_PREFIX, 'momentum': MOMENTUM_PREFIX}
    if branch not in prefixes:  # same names as tools/train.py --pretrained-branch
        raise ValueError(f"branch must be 'online' or 'momentum', got {branch!r}")
    part = _split(_unwrap(ckpt), prefixes[branch])
    if not part:
        raise KeyError(f'no key starts with {prefixes[branch]!r}: not an mgc_mm checkpoint')
    return mmpretrain_vit_to_timm(part)
