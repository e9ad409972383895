from mmpretrain.models.selfsup.mocov3 import MoCoV3ViT

from mgc_mm.registry import MODELS


@MODELS.register_module()
class SinCosInitViT(MoCoV3ViT):
    """mmpretrain's ViT started like MoCo v3's, with a *learned* position embedding.

    ``MoCoV3ViT`` initialises the position embedding with the fixed 2-D sin-cos table
    and freezes it, the patch projection and the qkv layers with MoCo v3's uniform
    (Xavier, q / k / v treated apart) ranges and the CLS token with N(0, 1e-6). This
    class keeps that initialisation but leaves the position embedding trainable, for
    methods whose recipe learns it (Mugs, spec §2). Why the start matters: with
    mmpretrain's default ``VisionTransformer`` initialisation (a 0.02-std position
    embedding, default-range qkv) the mean attention entropy of a ViT-S is within
    1 % of uniform, so an objective on the CLS token moves every patch token the
    same way; docs/mugs.md gives the measurement.

    Checkpoints have ``VisionTransformer``'s keys: they load into mmpretrain's
    ``VisionTransformer`` and mgc_mm's ``MGCViT`` unchanged.

    Args:
        **kwargs: arguments of mmpretrain's ``MoCoV3ViT`` (``stop_grad_conv1``,
            ``frozen_stages``, ...) and ``VisionTransformer``.
    """

    def init_weights(self) -> None:
        super().init_weights()
        # MoCoV3ViT freezes the table; frozen stages (frozen_stages >= 0) still do.
        self.pos_embed.requires_grad_(self.frozen_stages < 0)
