from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mgc_mm.registry import MODELS

# Per grain: (idx1, idx2, weight, valid), each (B, K).
Correspondences = Dict[int, Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


@MODELS.register_module()
class MultiGrainNeck(BaseModule):
    """Pools ViT patch tokens per grain, gathers corresponding tokens, projects them.

    For grain ``g`` the ``H × W`` token map (patch size ``p``) is average-pooled in
    windows of ``g / p`` tokens into an ``L × L`` grid; the rows named by the
    correspondences are gathered (view 1 at ``idx1``, view 2 at ``idx2``, valid slots
    only) and each view's rows go through the grain's projector (mmpretrain's
    ``NonLinearNeck``, so its BN statistics are per view, as with separate forwards).

    Args:
        projector (dict): config of one projector, copied for every grain
            (``in_channels`` must match the backbone).
        grains (sequence[int]): cell sizes in view pixels. Defaults to (16, 32, 112).
        patch_size (int): backbone patch size. Defaults to 16.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 projector: dict,
                 grains: Sequence[int] = (16, 32, 112),
                 patch_size: int = 16,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        for g in grains:
            if g % patch_size:
                raise ValueError(f'grain {g} is not a multiple of patch_size {patch_size}')
        self.grains = tuple(int(g) for g in grains)
        self.patch_size = patch_size
        self.projectors = nn.ModuleDict(
            {str(g): MODELS.build(dict(projector)) for g in self.grains})

    def pool(self, featmap: torch.Tensor, grain: int) -> torch.Tensor:
        """``(N, C, H, W)`` token map -> ``(N, L*L, C)`` grain tokens, row-major."""
        k = grain // self.patch_size
        if k > 1:
            featmap = F.avg_pool2d(featmap, kernel_size=k, stride=k)
        return featmap.flatten(2).transpose(1, 2)

    @staticmethod
    def gather(tokens: torch.Tensor, idx: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Rows ``tokens[b, idx[b, j]]`` of the valid slots, ``(num_valid, C)``."""
        batch = torch.arange(idx.shape[0], device=idx.device)[:, None].expand_as(idx)
        return tokens[batch[valid], idx[valid]]

    def forward(self, featmap: torch.Tensor,
                correspondences: Correspondences) -> Dict[int, Tuple[torch.Tensor, torch.Tensor]]:
        """Projected, corresponding tokens of both views per grain.

        Args:
            featmap (Tensor): ``(2B, C, H, W)`` patch tokens of view 1 (first B rows)
                and view 2 (last B rows) from one backbone forward.
            correspondences (dict): per grain ``(idx1, idx2, weight, valid)``.

        Returns:
            dict: per grain ``(z1, z2)``, each ``(M, D)``: row ``i`` of ``z1`` (view 1)
            corresponds to row ``i`` of ``z2`` (view 2).
        """
        B = featmap.shape[0] // 2
        out = {}
        for g in self.grains:
            idx1, idx2, _, valid = correspondences[g]
            tokens = self.pool(featmap, g)
            rows1 = self.gather(tokens[:B], idx1, valid)
            rows2 = self.gather(tokens[B:], idx2, valid)
            proj = self.projectors[str(g)]
            out[g] = (proj((rows1, ))[0], proj((rows2, ))[0])
        return out
