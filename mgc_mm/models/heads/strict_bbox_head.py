"""mmdet's 4conv1fc box head whose shared convs load strictly from a pretraining
checkpoint (MCL full transfer: the four convs of MCL's region head)."""
from mmdet.models.roi_heads.bbox_heads import Shared4Conv1FCBBoxHead
from mmdet.registry import MODELS as MMDET_MODELS

from ..utils.strict_init import load_pretrained_strict, split_pretrained_cfg


@MMDET_MODELS.register_module()
class PretrainedShared4Conv1FCBBoxHead(Shared4Conv1FCBBoxHead):
    """``Shared4Conv1FCBBoxHead`` with ``init_cfg=dict(type='Pretrained',
    checkpoint=CKPT, prefix='region_head.')``: its ``shared_convs`` (4 x [3x3 conv,
    norm]) load strictly from CKPT's ``region_head.shared_convs.*`` (missing or
    unexpected keys stop the run, named); the rest of the region head in CKPT (its MLP)
    is not taken, and the FC layers and predictors get mmdet's usual init (Xavier /
    Normal), as without a ``Pretrained`` entry.
    """

    def __init__(self, *args, init_cfg=None, **kwargs) -> None:
        pretrained, others = split_pretrained_cfg(init_cfg)
        # init_cfg=None gives mmdet's default init of fc_cls, fc_reg and shared_fcs.
        super().__init__(*args, init_cfg=others, **kwargs)
        self.pretrained_cfg = pretrained

    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained_cfg is not None:
            load_pretrained_strict(self.shared_convs, self.pretrained_cfg, type(self).__name__,
                                   'region_head.', part='shared_convs.')
