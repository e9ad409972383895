from .multi_grain_head import MultiGrainContrastHead

__all__ = ['MultiGrainContrastHead']
