"""mmdet's FPN loaded strictly from a pretraining checkpoint (MCL full transfer)."""
from mmdet.models.necks import FPN
from mmdet.registry import MODELS as MMDET_MODELS

from ..utils.strict_init import init_weights_strict


@MMDET_MODELS.register_module()
class PretrainedFPN(FPN):
    """mmdet's ``FPN`` whose ``Pretrained`` init_cfg loads strictly.

    ``init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='neck.')``: the keys of
    CKPT under ``prefix`` must be exactly this FPN's (``lateral_convs.{i}.conv.weight``,
    ``lateral_convs.{i}.bn.*``, ``fpn_convs.{i}...`` with a BN ``norm_cfg``), else the
    run stops with the missing / unexpected keys named. What an MCL checkpoint holds
    under ``neck.``; any other init_cfg (or none) initialises as mmdet's FPN.
    """

    def init_weights(self) -> None:
        init_weights_strict(self, super().init_weights, 'neck.')
