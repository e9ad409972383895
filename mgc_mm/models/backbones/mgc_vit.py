import logging
from typing import Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from mgc_mm.registry import MODELS
from ..utils.pretrained import load_state_strict, resolve_momentum_prefix, select_prefix


@MODELS.register_module()
class MGCViT(VisionTransformer):
    """mmpretrain's ViT for fine-tuning an mgc_mm checkpoint in mmdet / mmseg / mmpose.

    The same class and parameter names as the pretraining backbone (mmpretrain's
    ``VisionTransformer`` / ``MoCoV3ViT``), with two differences that matter for
    dense fine-tuning:

    * the pretrained final LayerNorm (``ln1``) is applied to **every** output in
      ``out_indices`` (``out_norm='all'``, the paper's protocol), not only to the last
      layer's, so its weights are used and none are dropped;
    * ``init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix=...)`` loads
      strictly: every backbone key must be in the checkpoint under ``prefix`` and no
      key under ``prefix`` may be left over, else the run stops with the keys named.
      Use ``prefix='backbone.'`` for the online branch of an mgc_mm checkpoint and
      ``prefix='momentum_encoder.module.backbone.'`` for the momentum (target) one;
      with the latter, an mmpretrain checkpoint that keeps its momentum backbone
      elsewhere (MoCo v3: ``momentum_encoder.module.0.``) is loaded from there, as the
      ResNet loaders do (``resolve_momentum_prefix``), and the prefix taken is logged.
      The position embedding is resized to this backbone's grid; with
      ``with_cls_token=False`` (ViTPose) the class token and its position are
      dropped on purpose and this is logged.
    * the head count is checked against the checkpoint's own config
      (``meta['cfg']``, which every checkpoint written by mmengine's runner and
      ``extract_backbone.py`` keeps): ``attn.qkv`` has the same shape for any number
      of heads at equal width (MGC's ViT-S: 8 heads, MoCo v3's: 12), so a wrong
      ``arch.num_heads`` would load without an error and attend differently. A
      mismatch stops the load; a checkpoint without a readable config is loaded with
      a warning that the head count was not verified.

    Reached from other toolboxes' configs as ``type='mmpretrain.MGCViT'``.

    Args:
        out_norm (str): ``'all'`` to apply the final norm to every output, ``'last'``
            for mmpretrain's behaviour. Defaults to 'all'.
        **kwargs: arguments of mmpretrain's ``VisionTransformer``.
    """

    def __init__(self, *args, out_norm: str = 'all', **kwargs) -> None:
        if out_norm not in ('all', 'last'):
            raise ValueError(f"out_norm must be 'all' or 'last', got {out_norm!r}")
        super().__init__(*args, **kwargs)
        if out_norm == 'all' and not self.final_norm:
            raise ValueError("out_norm='all' needs final_norm=True (the pretrained norm)")
        self.out_norm = out_norm

    def forward(self, x: torch.Tensor):
        B = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode,
                                 num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))
        outs = []
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                normed = self.final_norm and (self.out_norm == 'all' or i == last)
                outs.append(self._format_output(self.ln1(x) if normed else x, patch_resolution))
        return tuple(outs)

    def init_weights(self) -> None:
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            self.load_pretrained(self.init_cfg['checkpoint'],
                                 self.init_cfg.get('prefix', 'backbone.'))
            self._is_init = True
            return
        super().init_weights()

    def load_pretrained(self, checkpoint: str, prefix: str = 'backbone.') -> None:
        """Load ``checkpoint``'s keys under ``prefix`` strictly (see class docs)."""
        ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
        state = ckpt.get('state_dict', ckpt.get('model', ckpt))
        prefix = resolve_momentum_prefix(state, prefix, checkpoint)
        sub = select_prefix(state, prefix, f'checkpoint {checkpoint}')
        if not self.with_cls_token:
            dropped = [k for k in ('cls_token', ) if sub.pop(k, None) is not None]
            pos = sub.get('pos_embed')
            grid = self.patch_resolution[0] * self.patch_resolution[1]
            if pos is not None and pos.shape[1] != grid and int((pos.shape[1] - 1)**0.5)**2 == pos.shape[1] - 1:
                sub['pos_embed'] = pos[:, 1:]
                dropped.append('pos_embed[:, 0] (class-token position)')
            if dropped:
                print_log(f'{checkpoint}: with_cls_token=False, not loading {dropped}',
                          logger='current')
        self._check_num_heads(ckpt, checkpoint)
        load_state_strict(self, sub, f'checkpoint {checkpoint}', prefix)
        print_log(f'loaded {len(sub)} backbone tensors from {checkpoint} (prefix {prefix!r}), '
                  'no missing or unexpected keys', logger='current')

    def _check_num_heads(self, ckpt: dict, checkpoint: str) -> None:
        """Stop if the checkpoint's config pretrained another number of heads."""
        ours = self.arch_settings['num_heads']
        theirs, where = pretrained_num_heads(ckpt)
        if theirs is None:
            print_log(f'{checkpoint}: head count not verified ({where}); this backbone has '
                      f'{ours} heads, make sure the checkpoint has as many (qkv weights have '
                      'the same shape for any head count)', logger='current',
                      level=logging.WARNING)
        elif theirs != ours:
            raise ValueError(
                f'checkpoint {checkpoint} was pretrained with num_heads={theirs} ({where}), '
                f'this backbone has num_heads={ours}: the weights would load (same shapes) '
                'but compute other attention. Use the benchmark config for that backbone '
                '(MGC ViT-S/16, 8 heads: *_mgc-vit-s16_*; MoCo v3 ViT-S/16, 12 heads: '
                '*_mocov3-vit-s16_*; Mugs ViT-S/16 (deit-small), 6 heads: *_mugs-vit-s16_*) '
                'or set model.backbone.arch.num_heads')


# String archs of mmpretrain's ViTs. MoCoV3ViT adds its ViT-S to the (shared) arch zoo
# only when one is built, so it is listed here.
_MOCOV3_ARCHS = {'mocov3-s': 12, 'mocov3-small': 12}


def pretrained_num_heads(ckpt: dict) -> Tuple[Optional[int], str]:
    """The ``num_heads`` of ``model.backbone`` in a checkpoint's stored config.

    Returns:
        (num_heads or None, where it was read or why it could not be).
    """
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if text is None:
        return None, "the checkpoint has no meta['cfg']"
    try:
        cfg = Config.fromstring(text, '.py') if isinstance(text, str) else Config(dict(text))
        backbone = cfg.model.backbone
        arch = backbone['arch']  # none: not a ViT (R50...), the strict load will say so
    except Exception as e:  # an unreadable config must not block loading, only warn
        return None, ("meta['cfg'] has no readable model.backbone.arch "
                      f'({type(e).__name__}: {e})')
    if isinstance(arch, str):
        zoo = {k: v['num_heads'] for k, v in VisionTransformer.arch_zoo.items()}
        zoo.update(_MOCOV3_ARCHS)
        if arch.lower() not in zoo:
            return None, f"meta['cfg'] model.backbone.arch {arch!r} is not a known ViT arch"
        return zoo[arch.lower()], f"meta['cfg'] model.backbone.arch={arch!r}"
    if 'num_heads' not in arch:
        return None, "meta['cfg'] model.backbone.arch has no num_heads"
    return int(arch['num_heads']), "meta['cfg'] model.backbone.arch.num_heads"
