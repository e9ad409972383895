from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from mgc_mm.registry import MODELS


@MODELS.register_module()
class MultiGrainContrastHead(BaseModule):
    """Per-grain predictors and the symmetric InfoNCE of MGC (spec §4).

    For every grain ``g`` and direction, the online projection of one view goes
    through the grain's predictor and is contrasted with the target projection of the
    other view: ``L = Σ_g λ_g (L_g^{1→2} + L_g^{2→1})``.

    Args:
        predictor (dict): config of one predictor, copied for every grain.
        loss (dict): config of the contrastive loss (:class:`InfoNCELoss`).
        grains (sequence[int]): cell sizes. Defaults to (16, 32, 112).
        loss_weights (sequence[float]): ``λ_g`` per grain. Defaults to
            ``(10, 10, 2) / 22``.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 predictor: dict,
                 loss: dict = dict(type='InfoNCELoss', temperature=0.1),
                 grains: Sequence[int] = (16, 32, 112),
                 loss_weights: Sequence[float] = (10 / 22, 10 / 22, 2 / 22),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if len(grains) != len(loss_weights):
            raise ValueError(f'{len(grains)} grains but {len(loss_weights)} loss_weights')
        self.grains = tuple(int(g) for g in grains)
        self.loss_weights = dict(zip(self.grains, (float(w) for w in loss_weights)))
        self.predictors = nn.ModuleDict(
            {str(g): MODELS.build(dict(predictor)) for g in self.grains})
        self.loss_module = MODELS.build(loss)

    def loss(self, online: Dict[int, Tuple[torch.Tensor, torch.Tensor]],
             target: Dict[int, Tuple[torch.Tensor, torch.Tensor]],
             weights: Dict[int, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """
        Args:
            online (dict): per grain online projections ``(z1, z2)``, ``(M, D)`` each.
            target (dict): per grain target projections ``(k1, k2)``.
            weights (dict): per grain ``(M,)`` IoU weights of the rows.

        Returns:
            dict: ``loss_g{grain}`` per grain, already multiplied by ``λ_g``.
        """
        losses = {}
        for g in self.grains:
            z1, z2 = online[g]
            k1, k2 = target[g]
            pred = self.predictors[str(g)]
            q1, q2 = pred((z1, ))[0], pred((z2, ))[0]
            w = weights[g]
            loss = self.loss_module(q1, k2, w) + self.loss_module(q2, k1, w)
            losses[f'loss_g{g}'] = self.loss_weights[g] * loss
        return losses
