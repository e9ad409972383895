from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmpretrain.models import BaseSelfSupervisor, CosineEMA
from mmpretrain.structures import DataSample
from torch import nn

from mgc_mm.registry import MODELS
from ..utils.ema import cosine_ema_momentum
from ..utils.montage import DOWNSAMPLE_MODES, build_montages, montage_counts


def fpn_level_outputs(fpn: nn.Module, feats: Sequence[torch.Tensor],
                      counts: Sequence[int]) -> List[torch.Tensor]:
    """mmdet ``FPN`` outputs, each computed only for the rows that use it.

    The rows of ``feats`` (backbone maps C2..C5, finest first) are laid out level-major:
    the first ``counts[0]`` rows read the coarsest output (P5), the next ``counts[1]``
    the one below (P4), and so on. Output ``j`` of the FPN needs the lateral maps
    ``j..top`` (top-down pathway), so lateral ``j`` runs on the rows of levels that read
    ``j`` or finer, and output conv ``j`` on the rows of its own level only; a level
    reads no other output. Same modules and arithmetic as ``FPN.forward`` (equal on
    those rows in eval mode); in train mode each norm layer sees only the rows whose
    output is used.

    Returns:
        list[Tensor]: per level ``i``, output ``P(top - i)`` of its ``counts[i]`` rows.
    """
    n = len(fpn.lateral_convs)
    if len(counts) > n:
        raise ValueError(f'{len(counts)} levels but the FPN has {n} outputs')
    if any(c < 1 for c in counts):
        raise ValueError(f'every level needs rows, got counts {list(counts)}')
    total = sum(counts)
    if feats[0].shape[0] != total:
        raise ValueError(f'{feats[0].shape[0]} rows but counts sum to {total}')
    upsample_cfg = dict(fpn.upsample_cfg)
    outs, prev, prev_start, start = [], None, 0, 0
    for i, count in enumerate(counts):
        j = n - 1 - i
        lateral = fpn.lateral_convs[j](feats[j + fpn.start_level][start:])
        if prev is not None:
            top = prev[start - prev_start:]
            if 'scale_factor' in upsample_cfg:
                lateral = lateral + F.interpolate(top, **upsample_cfg)
            else:
                lateral = lateral + F.interpolate(top, size=lateral.shape[2:], **upsample_cfg)
        outs.append(fpn.fpn_convs[j](lateral[:count]))
        prev, prev_start = lateral, start
        start += count
    return outs


@MODELS.register_module()
class MCL(BaseSelfSupervisor):
    """MCL: Multi-Level Contrastive Learning with montages (``specs/mcl.md``).

    Each image comes as ``2L`` views (``L`` query-side then ``L`` key-side, one per
    level). Level ``i`` of grid ``r_i`` tiles the level's views, downsampled by ``r_i``,
    into montages (on the device, no gradient); all montages and full views of both
    sides go through the online backbone in one forward, each montage through its own
    FPN output only (level ``i`` reads ``P(5 - i)``), whose grid-aligned tiles (one per
    montage cell) the region head embeds in one pass. The momentum copy of backbone,
    FPN and region head embeds the level-0 (full) views; the head contrasts every cell
    with the other side's momentum embeddings of all ranks, its source image positive.

    Args:
        backbone (dict): e.g. mmpretrain ``ResNet`` with ``out_indices=(0, 1, 2, 3)``.
        neck (dict): mmdet ``FPN`` (``type='mmdet.FPN'``), ``num_outs`` = its inputs,
            no extra convs.
        region_head (dict): :class:`TileRegionHead` config.
        head (dict): :class:`MCLHead` config (predictors + loss), one level per grid.
        grids (sequence[int]): ``r_i`` per level; level 0 must be 1 (the views
            themselves). Defaults to (1, 2, 4, 8).
        cells_per_image (sequence[float]): per level, montage cells per image of the
            local batch (:func:`montage_counts`); (1, 1, 1, 2) gives the reference
            montages (128, 32, 8, 4) for 128 images. Defaults to (1, 1, 1, 2).
        downsample_mode (str): 'nearest' (the paper's) or 'area'.
        base_momentum (float): start of the cosine EMA schedule in mmpretrain's
            convention (``1 - m``): 0.01 gives ``m = 0.99``. Defaults to 0.01.
        end_momentum (float): its end; 0 gives ``m = 1``. Defaults to 0.
        pretrained (str, optional): checkpoint to initialise from.
        data_preprocessor (dict, optional): defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 region_head: dict,
                 head: dict,
                 grids: Sequence[int] = (1, 2, 4, 8),
                 cells_per_image: Sequence[float] = (1, 1, 1, 2),
                 downsample_mode: str = 'nearest',
                 base_momentum: float = 0.01,
                 end_momentum: float = 0.,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.region_head = MODELS.build(region_head)
        self.grids = tuple(int(g) for g in grids)
        self.cells_per_image = tuple(float(c) for c in cells_per_image)
        if not self.grids or self.grids[0] != 1:
            raise ValueError(f'level 0 must be the views themselves (grid 1), got {grids}')
        if len(self.cells_per_image) != len(self.grids):
            raise ValueError(f'{len(self.grids)} grids but {len(cells_per_image)} '
                             'cells_per_image')
        if self.head.num_levels != len(self.grids):
            raise ValueError(f'{len(self.grids)} grids but the head has '
                             f'{self.head.num_levels} levels')
        if downsample_mode not in DOWNSAMPLE_MODES:
            raise ValueError(f'downsample_mode must be one of {DOWNSAMPLE_MODES}')
        self.downsample_mode = downsample_mode
        fpn = self.neck
        for attr in ('lateral_convs', 'fpn_convs', 'upsample_cfg', 'start_level'):
            if not hasattr(fpn, attr):
                raise TypeError(f'the neck must be an mmdet FPN, got {type(fpn).__name__}')
        if len(fpn.fpn_convs) != len(fpn.lateral_convs) or fpn.num_outs != len(fpn.lateral_convs):
            raise ValueError('the FPN must have one output per input (no extra levels)')
        if len(self.grids) > len(fpn.lateral_convs):
            raise ValueError(f'{len(self.grids)} levels but the FPN has '
                             f'{len(fpn.lateral_convs)} outputs')
        # The target copies backbone, FPN and region head (not the predictors);
        # CosineEMA copies the online weights exactly on its first update.
        self.momentum_encoder = CosineEMA(
            self._online_encoder(), momentum=base_momentum, end_momentum=end_momentum)

    def _online_encoder(self) -> nn.ModuleDict:
        # A view of the online modules with the target's parameter names.
        return nn.ModuleDict(
            dict(backbone=self.backbone, neck=self.neck, region_head=self.region_head))

    def current_momentum(self) -> float:
        """EMA coefficient ``m`` (``p_t <- m p_t + (1 - m) p_o``) of the last update."""
        return cosine_ema_momentum(self.momentum_encoder)

    @torch.no_grad()
    def make_levels(self, views: Sequence[torch.Tensor]
                    ) -> Tuple[List[torch.Tensor], List[Tuple[torch.Tensor, torch.Tensor]]]:
        """Per level, the two sides' inputs stacked ``(2 M_i, 3, H, W)`` and their cell
        labels (source image per cell, per side)."""
        num_levels = len(self.grids)
        n = views[0].shape[0]
        counts = montage_counts(n, self.grids, self.cells_per_image)
        inputs, labels = [], []
        for i, (grid, m) in enumerate(zip(self.grids, counts)):
            side_inputs, side_labels = [], []
            for side in (0, 1):
                v = views[side * num_levels + i]
                if grid == 1:
                    side_inputs.append(v)
                    side_labels.append(torch.arange(n, device=v.device))
                else:
                    mont, lab = build_montages(v, grid, m, mode=self.downsample_mode)
                    side_inputs.append(mont)
                    side_labels.append(lab)
            inputs.append(torch.cat(side_inputs))
            labels.append(tuple(side_labels))
        return inputs, labels

    def _embed(self, net: nn.Module, level_inputs: Sequence[torch.Tensor],
               grids: Sequence[int]) -> List[torch.Tensor]:
        feats = net.backbone(torch.cat(level_inputs))
        maps = fpn_level_outputs(net.neck, feats, [x.shape[0] for x in level_inputs])
        return net.region_head(maps, grids)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Multi-level montage contrast of a batch.

        Args:
            inputs (list[Tensor]): ``2L`` views ``(N, 3, H, W)``: the query side's
                views for levels ``0..L-1``, then the key side's.
            data_samples (list[DataSample]): unused.

        Returns:
            dict: ``loss_level{i}`` per level and the EMA coefficient ``ema_momentum``.
        """
        num_levels = len(self.grids)
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2 * num_levels:
            raise ValueError(f'MCL expects a list of {2 * num_levels} views '
                             f'({num_levels} per side)')
        level_inputs, labels = self.make_levels(inputs)
        emb = self._embed(self, level_inputs, self.grids)
        online = [e.chunk(2) for e in emb]  # both sides have as many cells

        with torch.no_grad():
            self.momentum_encoder.update_parameters(self._online_encoder())
            target = self._embed(self.momentum_encoder.module,
                                 [torch.cat((inputs[0], inputs[num_levels]))], (1, ))[0]
        losses = self.head.loss(online, labels, target.chunk(2))
        losses['ema_momentum'] = torch.tensor(self.current_momentum(), device=target.device)
        return losses
