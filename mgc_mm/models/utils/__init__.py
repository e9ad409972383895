from .correspondence import (GRAIN_DEFAULTS, GrainCorrespondences,
                             grain_correspondences)

__all__ = ['GRAIN_DEFAULTS', 'GrainCorrespondences', 'grain_correspondences']
