from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule

from mgc_mm.registry import MODELS
from ..necks.dino_projector import DINOProjector
from ..utils.multi_crop import multi_crop_average


@MODELS.register_module()
class MugsGroupHead(BaseModule):
    """Mugs group discrimination (GDS, spec §2–3): DINO-style self-distillation.

    ``projector``: a :class:`DINOProjector` (MLP, L2-normalise, weight-normalised
    Linear to ``out_channels`` prototypes) on the CLS token, EMA-copied into the
    teacher. :meth:`loss` averages the :class:`DINOLoss` terms over the crop pairs of
    :func:`multi_crop_average` with the teacher targets centred and sharpened at
    ``teacher_temp`` (set per epoch by :class:`MugsTeacherTempHook`), then updates
    the centre with the teacher outputs of all ranks.

    Args:
        in_channels (int): backbone width.
        hid_channels (int): MLP hidden width. Defaults to 2048.
        bottleneck_channels (int): MLP output width. Defaults to 256.
        out_channels (int): prototypes. Defaults to 65536.
        num_layers (int): MLP layers. Defaults to 3.
        norm_last_layer (bool): fix the weight norm ``g`` to 1. Defaults to True.
        teacher_temp (float): τ_t until a hook sets it. Defaults to 0.07.
        mlp_norm_cfg (dict, optional): norm after the projector MLP's hidden layers
            (DINO's ``use_bn``). Defaults to None: the spec's head has none.
        loss (dict): a :class:`DINOLoss` config without ``out_channels``.
            Defaults to student τ 0.1, centre momentum 0.9.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 2048,
                 bottleneck_channels: int = 256,
                 out_channels: int = 65536,
                 num_layers: int = 3,
                 norm_last_layer: bool = True,
                 teacher_temp: float = 0.07,
                 mlp_norm_cfg: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.projector = DINOProjector(in_channels, hid_channels, bottleneck_channels,
                                       out_channels, num_layers, norm_last_layer,
                                       mlp_norm_cfg=mlp_norm_cfg)
        loss = dict(type='DINOLoss', student_temp=0.1, center_momentum=0.9) \
            if loss is None else dict(loss)
        if loss.setdefault('out_channels', out_channels) != out_channels:
            raise ValueError(f"loss out_channels {loss['out_channels']} differs from the "
                             f'head\'s {out_channels}')
        self.loss_module = MODELS.build(loss)
        self.teacher_temp = float(teacher_temp)

    def loss(self, student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor],
             include_same_view: bool = False) -> torch.Tensor:
        """Distillation loss averaged over the crop pairs; updates the centre.

        Args:
            student (list[Tensor]): per student crop (globals, then locals), the
                prototype logits ``(B, K)`` (with gradient).
            teacher (list[Tensor]): per teacher crop, the logits ``(B, K)``.
            include_same_view (bool): also pair student global ``t`` with teacher
                crop ``t``.
        """
        num_global = len(teacher)
        if len(student) < num_global:
            raise ValueError(f'{len(student)} student crops for {num_global} teacher crops')
        probs = [self.loss_module.teacher_probs(t, self.teacher_temp) for t in teacher]

        def term(t: int, crops: List[int]) -> torch.Tensor:
            # Crop by crop (all of batch size B): no copies of the (B, K) targets.
            return sum(self.loss_module(student[s], probs[t]) for s in crops) / len(crops)

        value = multi_crop_average(term, num_global, num_global, len(student) - num_global,
                                   include_same_view)
        self.loss_module.update_center(torch.cat(list(teacher)))
        return value
