from .per_param_clip import (PerParamClipAmpOptimWrapper, PerParamClipMixin,
                             PerParamClipOptimWrapper)

__all__ = ['PerParamClipMixin', 'PerParamClipOptimWrapper', 'PerParamClipAmpOptimWrapper']
