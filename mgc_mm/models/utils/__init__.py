from .correspondence import (GRAIN_DEFAULTS, GrainCorrespondences,
                             grain_correspondences, sample_correspondences)
from .pretrained import load_state_strict, resolve_momentum_prefix, select_prefix

__all__ = [
    'GRAIN_DEFAULTS', 'GrainCorrespondences', 'grain_correspondences', 'load_state_strict',
    'sample_correspondences',
    'resolve_momentum_prefix', 'select_prefix'
]
from .montage import build_montages, downsample_views, montage_counts, split_tiles  # noqa: E402
__all__ += ['build_montages', 'downsample_views', 'montage_counts', 'split_tiles']
from .ema import cosine_ema_momentum  # noqa: E402
from .mlp import MLP  # noqa: E402
from .multi_crop import multi_crop_average  # noqa: E402
from .queue import FeatureQueue  # noqa: E402
__all__ += ['FeatureQueue', 'MLP', 'cosine_ema_momentum', 'multi_crop_average']
from .kmeans import DistributedKMeans, distributed_kmeans, kmeans, shared_seed  # noqa: E402
from .sinkhorn import sinkhorn  # noqa: E402
__all__ += ['DistributedKMeans', 'distributed_kmeans', 'kmeans', 'shared_seed', 'sinkhorn']
