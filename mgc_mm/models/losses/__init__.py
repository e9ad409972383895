from .info_nce_loss import InfoNCELoss, gather_rows

__all__ = ['InfoNCELoss', 'gather_rows']
from .info_nce_loss import GatheredKeys  # noqa: E402
__all__ += ['GatheredKeys']
