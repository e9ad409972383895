"""Pictures for users: correspondences of a sample and training curves (needs matplotlib).

Not imported by ``import mgc_mm``, so training never needs matplotlib.
"""
from .correspondences import (cell_rect, cell_rect_in_image, draw_correspondences,
                              draw_crop_boxes, pair_linewidth, sample_views, valid_pairs)
from .log_curves import (default_keys, find_runs, load_work_dir, plot_scalars, read_scalars,
                         scalar_series)

__all__ = [
    'cell_rect', 'cell_rect_in_image', 'draw_correspondences', 'draw_crop_boxes',
    'pair_linewidth', 'sample_views', 'valid_pairs', 'default_keys', 'find_runs',
    'load_work_dir', 'plot_scalars', 'read_scalars', 'scalar_series'
]
