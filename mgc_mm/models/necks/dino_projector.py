from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from mgc_mm.registry import MODELS
from ..utils.mlp import MLP


@MODELS.register_module()
class DINOProjector(BaseModule):
    """DINO's projection head (Mugs GDS, spec §2): MLP, L2-normalise, weight-normalised
    Linear to the prototypes (no bias).

    The last layer uses :func:`torch.nn.utils.parametrizations.weight_norm`, not the
    deprecated ``torch.nn.utils.weight_norm``: the latter keeps the weight as a
    non-leaf tensor attribute that ``copy.deepcopy`` (mmpretrain's ``CosineEMA``
    teacher copy) refuses. Its state-dict keys are therefore
    ``last_layer.parametrizations.weight.original0`` (the norm ``g``, ``(K, 1)``) and
    ``last_layer.parametrizations.weight.original1`` (the direction ``v``,
    ``(K, bottleneck)``), where DINO checkpoints have ``last_layer.weight_g`` /
    ``last_layer.weight_v``. With ``norm_last_layer`` (DINO's default) ``g`` is fixed
    to 1 and gets no gradient.

    Args:
        in_channels (int): input width.
        hid_channels (int): MLP hidden width. Defaults to 2048.
        bottleneck_channels (int): MLP output width. Defaults to 256.
        out_channels (int): prototypes. Defaults to 65536.
        num_layers (int): MLP layers. Defaults to 3.
        norm_last_layer (bool): fix ``g`` to 1. Defaults to True.
        mlp_norm_cfg (dict, optional): norm after the MLP's hidden layers (DINO's
            ``use_bn``). Defaults to None.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 2048,
                 bottleneck_channels: int = 256,
                 out_channels: int = 65536,
                 num_layers: int = 3,
                 norm_last_layer: bool = True,
                 mlp_norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.out_channels = out_channels
        self.mlp = MLP(in_channels, hid_channels, bottleneck_channels, num_layers,
                       norm_cfg=mlp_norm_cfg, normalize_output=True)
        self.last_layer = weight_norm(nn.Linear(bottleneck_channels, out_channels, bias=False))
        g = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            g.fill_(1.)
        g.requires_grad_(not norm_last_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_layer(self.mlp(x))
