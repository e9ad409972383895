from typing import List, Optional

from mmengine.model import BaseModule, ModuleList

from mgc_mm.registry import MODELS


@MODELS.register_module()
class SequentialNeck(BaseModule):
    """Chain necks: the output of one is the input of the next.

    mmdet, mmseg and mmpose detectors take a single neck; a plain ViT needs two, the
    feature pyramid (mmseg's ``Feature2Pyramid``: strides 4 / 8 / 16 / 32 by
    ConvT-Norm-GELU-ConvT / ConvT / identity / max-pool) and then e.g. FPN. Name the
    parts with their scope, e.g. ``dict(type='mmseg.Feature2Pyramid', ...)`` and
    ``dict(type='mmdet.FPN', ...)``. Reached as ``type='mmpretrain.SequentialNeck'``.

    Args:
        necks (list[dict]): neck configs, applied in order.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self, necks: List[dict], init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if not necks:
            raise ValueError('SequentialNeck needs at least one neck')
        self.necks = ModuleList([MODELS.build(n) for n in necks])

    def forward(self, x):
        for neck in self.necks:
            x = neck(x)
        return x
