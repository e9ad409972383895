"""The ResNet-50 of a pretraining checkpoint (DenseCL, MoCo v2, MCL, DSC), loaded
strictly into mmdet / mmseg models: the R50 counterpart of ``MGCViT``."""
from mmdet.models.backbones import ResNet
from mmdet.models.roi_heads.shared_heads import ResLayer
from mmdet.registry import MODELS as MMDET_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS

from ..utils.strict_init import init_weights_strict


@MMDET_MODELS.register_module()
class PretrainedResNet(ResNet):
    """mmdet's ``ResNet`` whose ``Pretrained`` init_cfg loads strictly.

    ``init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='backbone.')``: every
    key of this backbone must be in CKPT under ``prefix`` and nothing else may be there,
    else the run stops with the keys named (mmengine's own ``Pretrained`` init would
    leave them at random init). ``prefix='backbone.'`` is the online backbone of an
    mmpretrain / mgc_mm checkpoint, ``'momentum_encoder.module.backbone.'`` the momentum
    one (also found under mmpretrain's ``encoder_k.module.0.`` of MoCo / DenseCL). A ViT
    checkpoint stops with one line saying so.

    mmdet's ResNet has the key names of mmpretrain's ``ResNet`` (what DenseCL, MoCo v2,
    MCL and DSC pretrain), and the plain stem (``conv1``/``bn1``), unlike mmseg's
    ``ResNetV1c``; so all 318 tensors of a ResNet-50 load. With ``num_stages < 4``
    (R50-C4) the stages it does not build are left to the module that does
    (:class:`PretrainedResLayer`, the RoI head's res5).

    Registered into mmdet's and mmseg's MODELS: ``type='PretrainedResNet'`` in both.
    """

    def init_weights(self) -> None:
        stages = len(self.arch_settings[self.depth][1])
        leave = tuple(f'layer{i + 1}.' for i in range(self.num_stages, stages))
        init_weights_strict(self, super().init_weights, 'backbone.', leave=leave)


MMSEG_MODELS.register_module(module=PretrainedResNet)


@MMDET_MODELS.register_module()
class PretrainedResLayer(ResLayer):
    """mmdet's RoI shared head ``ResLayer`` (res5 of R50-C4) whose ``Pretrained``
    init_cfg loads ``layer{stage + 1}`` strictly from the backbone of a checkpoint
    (``prefix='backbone.'``: keys ``backbone.layer4.*`` for ``stage=3``)."""

    def init_weights(self) -> None:
        name = f'layer{self.stage + 1}'
        init_weights_strict(self, super().init_weights, 'backbone.', target=getattr(self, name),
                            part=f'{name}.')
