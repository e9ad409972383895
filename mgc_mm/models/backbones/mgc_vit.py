import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from mgc_mm.registry import MODELS
from ..utils import load_state_strict, select_prefix


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
      ``prefix='momentum_encoder.module.backbone.'`` for the momentum (target) one.
      The position embedding is resized to this backbone's grid; with
      ``with_cls_token=False`` (ViTPose) the class token and its position are
      dropped on purpose and this is logged.

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
        load_state_strict(self, sub, f'checkpoint {checkpoint}', prefix)
        print_log(f'loaded {len(sub)} backbone tensors from {checkpoint} (prefix {prefix!r}), '
                  'no missing or unexpected keys', logger='current')
