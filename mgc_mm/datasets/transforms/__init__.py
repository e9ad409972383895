from .deferred import DeferredMultiView, DeferredMultiViewWithKeys, ViewPlan
from .loading import (LoadImageFromFileSafe, decode_image, decode_images_on,
                      read_image_header)
from .multi_view import MultiViewWithKeys, WeakStrongAug
from .processing import (CoupledRandomResizedCrop, CV2ColorJitter, CV2GaussianBlur,
                         MultiGrainCorrespondences, adjust_hue, box_iou_xywh)

__all__ = [
    'LoadImageFromFileSafe', 'decode_image', 'decode_images_on', 'read_image_header',
    'CoupledRandomResizedCrop', 'CV2ColorJitter', 'CV2GaussianBlur',
    'MultiGrainCorrespondences', 'adjust_hue', 'box_iou_xywh', 'MultiViewWithKeys',
    'WeakStrongAug', 'DeferredMultiView', 'DeferredMultiViewWithKeys', 'ViewPlan'
]
