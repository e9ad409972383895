from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model.weight_init import trunc_normal_
from torch import nn


def norm_1d_cfg(norm_cfg: dict) -> dict:
    """``norm_cfg`` for ``(N, C)`` inputs: mmcv's ``'BN'`` is BatchNorm2d, so it becomes
    ``'BN1d'``; ``'SyncBN'`` and the others take any rank already."""
    return dict(norm_cfg, type='BN1d') if norm_cfg['type'] == 'BN' else dict(norm_cfg)


class MLP(nn.Sequential):
    """``num_layers`` Linear layers with an activation between them (the DINO / Mugs
    projection heads), optionally a norm layer before each activation (DINO's
    ``use_bn``; none by default) and L2-normalised input and output.

    Linear weights are truncated-normal (std 0.02) and biases zero, as in DINO.

    Args:
        in_channels (int): input width.
        hid_channels (int): width of the hidden layers.
        out_channels (int): output width.
        num_layers (int): Linear layers (>= 1). Defaults to 3.
        act_cfg (dict): activation between the layers. Defaults to GELU.
        norm_cfg (dict, optional): norm after each hidden Linear, e.g. ``'SyncBN'``
            (``'BN'`` is taken as ``'BN1d'``). Defaults to None (none).
        normalize_input (bool): L2-normalise the input. Defaults to False.
        normalize_output (bool): L2-normalise the output. Defaults to False.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 num_layers: int = 3,
                 act_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 normalize_input: bool = False,
                 normalize_output: bool = False) -> None:
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        act_cfg = dict(type='GELU') if act_cfg is None else act_cfg
        widths = [in_channels] + [hid_channels] * (num_layers - 1) + [out_channels]
        norm_cfg = None if norm_cfg is None else norm_1d_cfg(norm_cfg)
        layers = []
        for i in range(num_layers):
            if i:
                if norm_cfg is not None:
                    layers.append(build_norm_layer(norm_cfg, widths[i])[1])
                layers.append(build_activation_layer(act_cfg))
            layers.append(nn.Linear(widths[i], widths[i + 1]))
        super().__init__(*layers)
        self.normalize_input = normalize_input
        self.normalize_output = normalize_output
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize_input:
            x = F.normalize(x, dim=-1)
        x = super().forward(x)
        return F.normalize(x, dim=-1) if self.normalize_output else x
