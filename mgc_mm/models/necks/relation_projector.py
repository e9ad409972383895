from typing import Optional

import torch
from mmengine.model import BaseModule
from mmpretrain.models.backbones.vision_transformer import TransformerEncoderLayer
from torch import nn

from mgc_mm.registry import MODELS
from ..utils.mlp import MLP


@MODELS.register_module()
class RelationProjector(BaseModule):
    """Mugs' local-group projector: relation block, final norm, MLP (spec §2, LGDS).

    The query (an image's token mean) and its ``k`` nearest memory entries form a
    ``k + 1`` token sequence that one mmpretrain :class:`TransformerEncoderLayer`
    (the "relation block", same width as the backbone) mixes; the output at the
    query position, after the backbone's final norm (passed to :meth:`forward`, so
    that it is the student's or the teacher's), is the local-group feature, which an
    :class:`MLP` projects and L2-normalises.

    Args:
        embed_dims (int): token width (the backbone's).
        num_heads (int): attention heads of the relation block.
        feedforward_channels (int): its FFN width.
        hid_channels (int): MLP hidden width. Defaults to 2048.
        out_channels (int): MLP output width. Defaults to 256.
        num_layers (int): MLP layers. Defaults to 3.
        drop_path_rate (float): of the relation block. Defaults to 0.
        qkv_bias (bool): Defaults to True.
        norm_cfg (dict): the relation block's norm layers. Defaults to LN (eps 1e-6).
        mlp_norm_cfg (dict, optional): norm after the MLP's hidden layers.
            Defaults to None.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 hid_channels: int = 2048,
                 out_channels: int = 256,
                 num_layers: int = 3,
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 norm_cfg: Optional[dict] = None,
                 mlp_norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.relation_block = TransformerEncoderLayer(
            embed_dims=embed_dims, num_heads=num_heads,
            feedforward_channels=feedforward_channels, drop_path_rate=drop_path_rate,
            qkv_bias=qkv_bias,
            norm_cfg=dict(type='LN', eps=1e-6) if norm_cfg is None else norm_cfg)
        self.mlp = MLP(embed_dims, hid_channels, out_channels, num_layers,
                       norm_cfg=mlp_norm_cfg, normalize_output=True)

    def forward(self, query: torch.Tensor, neighbours: torch.Tensor,
                final_norm: nn.Module) -> torch.Tensor:
        """
        Args:
            query (Tensor): ``(N, D)`` query tokens.
            neighbours (Tensor): ``(N, k, D)`` memory entries (no gradient).
            final_norm (nn.Module): the backbone's final norm layer.

        Returns:
            Tensor: ``(N, out_channels)`` unit rows.
        """
        seq = torch.cat([query[:, None], neighbours.to(query.dtype)], dim=1)
        return self.mlp(final_norm(self.relation_block(seq)[:, 0]))
