from math import cos, pi

from mmengine.logging import MessageHub
from mmpretrain.models import CosineEMA


def cosine_ema_momentum(ema: CosineEMA) -> float:
    """EMA coefficient ``m`` (``p_t <- m p_t + (1 - m) p_o``) of the last update of an
    mmpretrain :class:`CosineEMA` (whose ``momentum`` is ``1 - m``); 0 before the
    second update (the first one copies the online weights)."""
    step = int(ema.steps) - 1
    if step <= 0:
        return 0.
    max_iters = MessageHub.get_current_instance().get_info('max_iters')
    anneal = (cos(pi * step / float(max_iters)) + 1) / 2
    return 1. - (ema.end_momentum - (ema.end_momentum - ema.momentum) * anneal)
