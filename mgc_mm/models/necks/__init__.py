from .multi_grain_neck import MultiGrainNeck

__all__ = ['MultiGrainNeck']
