from .correspondence import (GRAIN_DEFAULTS, GrainCorrespondences,
                             grain_correspondences)
from .pretrained import load_state_strict, select_prefix

__all__ = [
    'GRAIN_DEFAULTS', 'GrainCorrespondences', 'grain_correspondences', 'load_state_strict',
    'select_prefix'
]
