from .multi_grain_neck import MultiGrainNeck
from .sequential_neck import SequentialNeck

__all__ = ['MultiGrainNeck', 'SequentialNeck']
from .strict_fpn import PretrainedFPN  # noqa: E402
__all__ += ['PretrainedFPN']
from .dino_projector import DINOProjector  # noqa: E402
from .relation_projector import RelationProjector  # noqa: E402
__all__ += ['DINOProjector', 'RelationProjector']
from .densecl_bn_neck import DenseCLBNNeck  # noqa: E402
__all__ += ['DenseCLBNNeck']
