from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from mgc_mm.registry import MODELS

Pair = Tuple[torch.Tensor, torch.Tensor]


@MODELS.register_module()
class MCLHead(BaseModule):
    """Per-level predictors and the symmetric multi-level InfoNCE of MCL (spec §4).

    For level ``i`` and side ``s`` (query side 0, key side 1), the online embeddings of
    the level's montage cells go through the level's predictor and are contrasted with
    the gathered momentum level-0 embeddings of the *other* side; the positive of a cell
    is its source image. ``L = Σ_i w_i (L_i^{0→1} + L_i^{1→0})`` with, per term,
    ``loss_weight · CE(q·Tᵀ/τ)`` averaged over the level's cells of all ranks (the
    spec's ``2τ·CE``: ``loss_weight = 2τ``).

    Args:
        predictor (dict): config of one predictor (input and output a tuple of one
            ``(M, D)`` tensor, e.g. mmpretrain's ``NonLinearNeck``), one per level.
        loss (dict): :class:`InfoNCELoss` config. Defaults to τ = 1, weight 2τ = 2.
        level_weights (sequence[float]): ``w_i``. Defaults to (1/2, 1/4, 1/8, 1/8).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 predictor: dict,
                 loss: dict = dict(type='InfoNCELoss', temperature=1.0, loss_weight=2.0),
                 level_weights: Sequence[float] = (0.5, 0.25, 0.125, 0.125),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if len(level_weights) < 1:
            raise ValueError('level_weights must not be empty')
        self.level_weights = tuple(float(w) for w in level_weights)
        self.predictors = nn.ModuleList(
            [MODELS.build(dict(predictor)) for _ in self.level_weights])
        self.loss_module = MODELS.build(loss)

    @property
    def num_levels(self) -> int:
        return len(self.level_weights)

    def loss(self, online: Sequence[Pair], labels: Sequence[Pair],
             targets: Pair) -> Dict[str, torch.Tensor]:
        """
        Args:
            online (sequence): per level, the online cell embeddings of the two sides,
                ``(M_i, D)`` each.
            labels (sequence): per level and side, ``(M_i,)`` source image of each cell
                (an index into this rank's batch).
            targets (tuple): momentum level-0 embeddings of the two sides, ``(N, D)``
                each, row ``n`` from image ``n``.

        Returns:
            dict: ``loss_level{i}`` per level, already multiplied by ``w_i``.
        """
        if len(online) != self.num_levels or len(labels) != self.num_levels:
            raise ValueError(f'the head has {self.num_levels} levels, got {len(online)} '
                             f'embeddings and {len(labels)} labels')
        with torch.no_grad():  # gathered once per side, shared by all levels
            keys = [self.loss_module.gather_keys(t) for t in targets]
        losses = {}
        for i, (pred, w) in enumerate(zip(self.predictors, self.level_weights)):
            terms = []
            for side in (0, 1):
                q = pred((online[i][side], ))[0]
                terms.append(self.loss_module(q, keys[1 - side], labels=labels[i][side]))
            losses[f'loss_level{i}'] = w * (terms[0] + terms[1])
        return losses
