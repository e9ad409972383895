from .info_nce_loss import InfoNCELoss, gather_rows

__all__ = ['InfoNCELoss', 'gather_rows']
from .info_nce_loss import GatheredKeys  # noqa: E402
__all__ += ['GatheredKeys']
from .dino_loss import DINOLoss  # noqa: E402
__all__ += ['DINOLoss']
from .supcon_loss import SupConLoss  # noqa: E402
__all__ += ['SupConLoss']
