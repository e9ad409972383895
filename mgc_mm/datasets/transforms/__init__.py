from .loading import LoadImageFromFileSafe, decode_image
from .multi_view import MultiViewWithKeys, WeakStrongAug
from .processing import (CoupledRandomResizedCrop, CV2ColorJitter, CV2GaussianBlur,
                         MultiGrainCorrespondences, adjust_hue, box_iou_xywh)

__all__ = [
    'LoadImageFromFileSafe', 'decode_image', 'CoupledRandomResizedCrop', 'CV2ColorJitter',
    'CV2GaussianBlur', 'MultiGrainCorrespondences', 'adjust_hue', 'box_iou_xywh',
    'MultiViewWithKeys', 'WeakStrongAug'
]
