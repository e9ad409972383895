from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models import BaseSelfSupervisor, CosineEMA, MoCoV3ViT
from mmpretrain.structures import DataSample
from torch import nn

from mgc_mm.registry import MODELS
from ..utils import cosine_ema_momentum, sample_correspondences


@MODELS.register_module()
class MGC(BaseSelfSupervisor):
    """MGC: Multi-Grained Contrast.

    Implementation of `Multi-Grained Contrast for Data-Efficient Unsupervised
    Representation Learning <https://arxiv.org/abs/2407.02014>`_, following
    ``specs/mgc.md``. Both views go through the online backbone in one concatenated
    forward and through the momentum (target) backbone in one more: two backbone
    passes a step. Per grain, the corresponding tokens are pooled, gathered and
    projected by the neck, and contrasted by the head.

    Args:
        backbone (dict): backbone config; must return the patch-token map
            (e.g. mmpretrain's ViT with ``out_type='featmap'``).
        neck (dict): :class:`MultiGrainNeck` config (pooling + projectors).
        head (dict): :class:`MultiGrainContrastHead` config (predictors + loss).
        base_momentum (float): start of the cosine EMA schedule in mmpretrain's
            convention (``1 - m``): 0.004 gives ``m = 0.996``. Defaults to 0.004.
        end_momentum (float): its end; 0 gives ``m = 1``. Defaults to 0.
        view_size (int): side of the views, for correspondences computed here when
            the data samples carry only crop boxes and flips. Defaults to 224.
        pretrained (str, optional): checkpoint to initialise from.
        data_preprocessor (dict, optional): defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 base_momentum: float = 0.004,
                 end_momentum: float = 0.,
                 view_size: int = 224,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, pretrained=pretrained,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if tuple(self.neck.grains) != tuple(self.head.grains):
            raise ValueError(f'neck grains {self.neck.grains} differ from head grains '
                             f'{self.head.grains}')
        self.view_size = view_size
        if isinstance(self.backbone, MoCoV3ViT):
            # MoCoV3ViT fixes its sin-cos position embedding only in init_weights,
            # which runs after DDP has registered the parameters: freeze it now so
            # that DDP never waits for a gradient that will not come.
            self.backbone.pos_embed.requires_grad_(False)
        # The target copies the backbone and the projectors; CosineEMA copies the
        # online weights exactly on its first update, so both branches start equal.
        self.momentum_encoder = CosineEMA(
            self._online_encoder(), momentum=base_momentum, end_momentum=end_momentum)

    def _online_encoder(self) -> nn.ModuleDict:
        # A view of the online modules with the target's parameter names.
        return nn.ModuleDict(dict(backbone=self.backbone, neck=self.neck))

    def current_momentum(self) -> float:
        """EMA coefficient ``m`` (``p_t <- m p_t + (1 - m) p_o``) of the last update."""
        return cosine_ema_momentum(self.momentum_encoder)

    def correspondences(self, data_samples: List[DataSample], device: torch.device) -> dict:
        """Per grain ``(idx1, idx2, weight, valid)`` of the batch, ``(B, K)`` each.

        Uses the ones the pipeline packed (``correspondences``); otherwise computes
        them here, batched, from ``crop_boxes`` and ``crop_flips`` (the device pixel
        pipeline leaves them to the model), and moves them to ``device``.
        """
        first = data_samples[0]
        if 'correspondences' in first:
            out = {}
            for g in self.neck.grains:
                if g not in first.correspondences:
                    raise KeyError(f'data samples carry correspondences for grains '
                                   f'{sorted(first.correspondences)} but the model needs {g}')
                fields = [s.correspondences[g] for s in data_samples]
                out[g] = tuple(torch.stack([f[k] for f in fields]).to(device)
                               for k in ('idx1', 'idx2', 'weight', 'valid'))
            return out
        if 'crop_boxes' not in first:
            raise KeyError('data samples need `correspondences` or `crop_boxes` + '
                           '`crop_flips`: pack them with PackInputs(algorithm_keys=...)')
        return {g: tuple(sample_correspondences(data_samples, g, device, self.view_size))
                for g in self.neck.grains}

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Multi-grained contrastive losses of a batch of view pairs.

        Args:
            inputs (list[Tensor]): the two views, ``(B, 3, H, W)`` each.
            data_samples (list[DataSample]): with correspondences or crop boxes/flips.

        Returns:
            dict: ``loss_g{grain}`` per grain and the EMA coefficient ``ema_momentum``.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError('MGC expects a list of two views')
        views = torch.cat(inputs)
        corr = self.correspondences(data_samples, views.device)
        online = self.neck(self.backbone(views)[0], corr)

        with torch.no_grad():
            self.momentum_encoder.update_parameters(self._online_encoder())
            target_net = self.momentum_encoder.module
            target = target_net.neck(target_net.backbone(views)[0], corr)

        weights = {g: c[2][c[3]] for g, c in corr.items()}
        losses = self.head.loss(online, target, weights)
        losses['ema_momentum'] = torch.tensor(self.current_momentum(), device=views.device)
        return losses
