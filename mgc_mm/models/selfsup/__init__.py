from .mgc import MGC

__all__ = ['MGC']
from .mcl import MCL, fpn_level_outputs  # noqa: E402
__all__ += ['MCL', 'fpn_level_outputs']
from .mugs import Mugs  # noqa: E402
__all__ += ['Mugs']
from .dsc import DSC  # noqa: E402
__all__ += ['DSC']
