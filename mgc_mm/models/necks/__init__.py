from .multi_grain_neck import MultiGrainNeck
from .sequential_neck import SequentialNeck

__all__ = ['MultiGrainNeck', 'SequentialNeck']
