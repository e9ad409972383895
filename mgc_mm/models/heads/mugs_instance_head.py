from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from mgc_mm.registry import MODELS
from ..utils.mlp import MLP
from ..utils.multi_crop import multi_crop_average
from ..utils.queue import FeatureQueue


@MODELS.register_module()
class MugsInstanceHead(BaseModule):
    """Mugs instance discrimination (IDS, spec §2–3).

    ``projector`` (shared shape with the teacher's EMA copy): an MLP
    ``in → hid → hid → out`` (GELU, no norm layers), L2-normalised, on the CLS token.
    ``predictor`` (student only): ``out → pred_hid → out`` with normalised input and
    output. :meth:`loss` contrasts each student prediction with the teacher target of
    the same image against a queue of past teacher targets (InfoNCE, τ = 0.2), over
    the crop pairs of :func:`multi_crop_average`, then enqueues the teacher targets.

    Args:
        in_channels (int): backbone width.
        hid_channels (int): projector hidden width. Defaults to 2048.
        out_channels (int): projector output width. Defaults to 256.
        num_layers (int): projector layers. Defaults to 3.
        pred_hid_channels (int): predictor hidden width. Defaults to 4096.
        pred_num_layers (int): predictor layers. Defaults to 2.
        queue_len (int): negatives in the queue. Defaults to 65536.
        mlp_norm_cfg (dict, optional): norm after the hidden layers of the projector
            and predictor MLPs (DINO's ``use_bn``). Defaults to None: the spec's heads
            have none.
        loss (dict): an :class:`InfoNCELoss` config. Defaults to τ = 0.2.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 2048,
                 out_channels: int = 256,
                 num_layers: int = 3,
                 pred_hid_channels: int = 4096,
                 pred_num_layers: int = 2,
                 queue_len: int = 65536,
                 mlp_norm_cfg: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.mlp_norm_cfg = mlp_norm_cfg
        self.projector = self.build_projector(in_channels, hid_channels, out_channels,
                                              num_layers)
        self.predictor = MLP(out_channels, pred_hid_channels, out_channels, pred_num_layers,
                             norm_cfg=mlp_norm_cfg, normalize_input=True,
                             normalize_output=True)
        self.queue = FeatureQueue(out_channels, queue_len, normalize=True)
        self.loss_module = MODELS.build(
            dict(type='InfoNCELoss', temperature=0.2) if loss is None else loss)

    def build_projector(self, in_channels: int, hid_channels: int, out_channels: int,
                        num_layers: int) -> nn.Module:
        return MLP(in_channels, hid_channels, out_channels, num_layers,
                   norm_cfg=self.mlp_norm_cfg, normalize_output=True)

    def loss(self, student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor],
             include_same_view: bool = False) -> torch.Tensor:
        """Queue InfoNCE averaged over the crop pairs; enqueues the teacher targets.

        Args:
            student (list[Tensor]): per student crop (the globals, then the locals),
                the predictor outputs ``(B, out)`` (with gradient).
            teacher (list[Tensor]): per teacher crop, the targets ``(B, out)``; as
                many as student global crops.
            include_same_view (bool): also pair student global ``t`` with teacher
                crop ``t``.
        """
        num_global = len(teacher)
        if len(student) < num_global:
            raise ValueError(f'{len(student)} student crops for {num_global} teacher crops')
        # One snapshot for every term of the step: targets enqueued for teacher
        # crop 0 must not become negatives of crop 1 (the same images).
        negatives = self.queue.clone()

        def term(t: int, crops: List[int]) -> torch.Tensor:
            query = torch.cat([student[s] for s in crops])
            key = teacher[t].repeat(len(crops), 1)
            return self.loss_module(query, key, queue=negatives)

        value = multi_crop_average(term, num_global, num_global, len(student) - num_global,
                                   include_same_view)
        for target in teacher:  # per crop: the rows of all ranks in rank order
            self.queue.enqueue(target)
        return value
