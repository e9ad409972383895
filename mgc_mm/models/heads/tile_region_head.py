from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from mgc_mm.registry import MODELS
from ..utils.montage import split_tiles


@MODELS.register_module()
class TileRegionHead(BaseModule):
    """MCL's region head: one embedding per grid-aligned tile of an FPN map (spec §3).

    Each ``tile_size × tile_size`` tile (the feature of one montage cell; the same as a
    RoIAlign of the cell's box, which is grid-aligned) goes through ``num_convs`` ×
    [3×3 conv without bias, norm, ReLU], zero-padded at the tile's own borders (tiles
    never see their neighbours), a ``tile_size × tile_size`` average pool and an MLP.

    ``shared_convs`` has exactly the modules, and so the state-dict keys, of mmdet's
    ``Shared4Conv1FCBBoxHead.shared_convs`` (``ConvModule`` with ``norm_cfg``), so that a
    Mask R-CNN 4conv1fc box head can load them; the MLP lives under ``mlp``.

    Args:
        in_channels (int): channels of the FPN maps. Defaults to 256.
        conv_channels (int): channels of the convs. Defaults to 256.
        num_convs (int): Defaults to 4.
        tile_size (int): side of a tile in feature pixels. Defaults to 7.
        conv_cfg, norm_cfg, act_cfg (dict): of the convs, as mmdet's box head.
        mlp (dict): config of the MLP on the pooled tiles (input ``(T, C)`` in a tuple,
            e.g. mmpretrain's ``NonLinearNeck`` with ``with_avg_pool=False``); default
            Linear C→2048, BN, ReLU, Linear 2048→256, BN without affine.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int = 256,
                 conv_channels: int = 256,
                 num_convs: int = 4,
                 tile_size: int = 7,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 mlp: dict = dict(
                     type='NonLinearNeck', in_channels=256, hid_channels=2048,
                     out_channels=256, num_layers=2, with_bias=True, with_last_bias=False,
                     with_last_bn=True, with_last_bn_affine=False, with_avg_pool=False,
                     norm_cfg=dict(type='BN1d')),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if num_convs < 0:
            raise ValueError(f'num_convs must be >= 0, got {num_convs}')
        self.tile_size = int(tile_size)
        self.shared_convs = nn.ModuleList([
            ConvModule(in_channels if i == 0 else conv_channels, conv_channels, 3, padding=1,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for i in range(num_convs)
        ])
        mlp_in = conv_channels if num_convs else in_channels
        if mlp.get('in_channels', mlp_in) != mlp_in:
            raise ValueError(f"mlp in_channels {mlp['in_channels']} differs from the "
                             f'{mlp_in} channels of the pooled tiles')
        self.mlp = MODELS.build(dict(mlp))

    def forward_tiles(self, tiles: torch.Tensor) -> torch.Tensor:
        """``(T, C, s, s)`` tiles -> ``(T, D)`` embeddings."""
        if tuple(tiles.shape[-2:]) != (self.tile_size, self.tile_size):
            raise ValueError(f'tiles are {tuple(tiles.shape[-2:])}, the head takes '
                             f'{self.tile_size}x{self.tile_size}')
        x = tiles
        for conv in self.shared_convs:
            x = conv(x)  # padding=1 on a lone tile: zeros at the tile's borders
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.mlp((x, ))[0]

    def forward(self, maps: Sequence[torch.Tensor], grids: Sequence[int]) -> List[torch.Tensor]:
        """Embeddings of the tiles of several maps, in one pass.

        Args:
            maps (sequence[Tensor]): ``(B_i, C, g_i·s, g_i·s)`` feature maps.
            grids (sequence[int]): ``g_i``, tiles per side of map ``i``.

        Returns:
            list[Tensor]: per map ``(B_i·g_i², D)``, tile ``b·g_i² + t`` = row-major tile
            ``t`` of image ``b`` (:func:`split_tiles`). Normalisation layers see the
            tiles of all maps together, like a RoI head sees the RoIs of all levels.
        """
        if len(maps) != len(grids):
            raise ValueError(f'{len(maps)} maps but {len(grids)} grids')
        tiles = [split_tiles(m, g) for m, g in zip(maps, grids)]
        out = self.forward_tiles(torch.cat(tiles) if len(tiles) > 1 else tiles[0])
        return list(out.split([t.shape[0] for t in tiles]))
