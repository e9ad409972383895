from .info_nce_loss import InfoNCELoss, gather_rows

__all__ = ['InfoNCELoss', 'gather_rows']
