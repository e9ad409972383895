from .multi_grain_head import MultiGrainContrastHead

__all__ = ['MultiGrainContrastHead']
from .mcl_head import MCLHead  # noqa: E402
from .tile_region_head import TileRegionHead  # noqa: E402
__all__ += ['MCLHead', 'TileRegionHead']
from .strict_bbox_head import PretrainedShared4Conv1FCBBoxHead  # noqa: E402
__all__ += ['PretrainedShared4Conv1FCBBoxHead']
from .mugs_group_head import MugsGroupHead  # noqa: E402
from .mugs_instance_head import MugsInstanceHead  # noqa: E402
from .mugs_local_group_head import MugsLocalGroupHead  # noqa: E402
__all__ += ['MugsGroupHead', 'MugsInstanceHead', 'MugsLocalGroupHead']
