"""Pictures of what MGC matches: the two crops of an image and their token pairs.

:func:`sample_views` runs a config's real training pipeline on one image and keeps
what the model receives (the two packed views and the data sample with ``crop_boxes``,
``crop_flips`` and ``correspondences``) plus the decoded image before cropping.
:func:`draw_correspondences` draws the two views side by side with each grain's
matched cells and returns the pairs it drew; :func:`draw_crop_boxes` draws the crop
boxes (and the matched cells mapped back) on the original image.

Cell geometry: a token index ``i`` at grain ``g`` of a view of side ``S`` is the cell
at row ``i // L``, column ``i % L`` (``L = S // g``) of the view **as the model sees
it**, i.e. after the view's horizontal flip (:func:`grain_correspondences` flips the
column of a flipped view to ``L - 1 - col``). In the original image that cell is
column ``L - 1 - i % L`` of the crop box when the view was flipped.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from mmengine.registry import DefaultScope

from mgc_mm.datasets.transforms import CoupledRandomResizedCrop, MultiGrainCorrespondences

# One colour per grain, in the order the grains are drawn (matplotlib's tab10).
GRAIN_COLOURS = ('tab:red', 'tab:cyan', 'tab:orange', 'tab:green', 'tab:purple',
                 'tab:pink', 'tab:olive', 'tab:blue')
VIEW_GAP = 16  # pixels between the two views on the canvas


def _build(transform_cfg):
    from mmpretrain.registry import TRANSFORMS
    return TRANSFORMS.build(transform_cfg) if isinstance(transform_cfg, dict) else transform_cfg


def sample_views(pipeline_cfg: Sequence[dict], img_path: str,
                 seed: Optional[int] = None) -> dict:
    """Run an MGC training pipeline on one image.

    Args:
        pipeline_cfg (sequence[dict]): the pipeline (e.g.
            ``cfg.train_dataloader.dataset.pipeline``); it must contain a
            :class:`CoupledRandomResizedCrop` and a :class:`MultiGrainCorrespondences`.
        img_path (str): the image file.
        seed (int, optional): seeds ``random``, NumPy and torch first (the crops,
            flips and photometric draws), for a reproducible picture.

    Returns:
        dict: ``image`` (the decoded image just before cropping, HWC uint8 BGR),
        ``views`` (the two packed views as the model receives them, HWC uint8 BGR,
        after photometric augmentation), ``raw_views`` (the same crops and flips
        before photometric augmentation), ``data_sample`` (the packed
        ``DataSample``), ``view_size`` and ``grains`` (of the correspondence step).
    """
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        transforms = [_build(t) for t in pipeline_cfg]
    crops = [t for t in transforms if isinstance(t, CoupledRandomResizedCrop)]
    corrs = [t for t in transforms if isinstance(t, MultiGrainCorrespondences)]
    if len(crops) != 1 or len(corrs) != 1:
        raise ValueError('the pipeline needs exactly one CoupledRandomResizedCrop and one '
                         f'MultiGrainCorrespondences, got {[type(t).__name__ for t in transforms]}')
    if seed is not None:
        from mmengine.runner import set_random_seed
        set_random_seed(seed)
    results: Optional[dict] = dict(img_path=img_path, sample_idx=0)
    image = None
    for t in transforms:
        if t is crops[0]:
            image = results['img'].copy()
        results = t(results)
        if results is None:  # e.g. LoadImageFromFileSafe on an unreadable file
            raise ValueError(f'the pipeline dropped {img_path} at {type(t).__name__} '
                             '(unreadable image?)')
    if 'inputs' not in results or 'data_samples' not in results:
        raise ValueError('the pipeline must end with PackInputs(algorithm_keys=[crop_boxes, '
                         'crop_flips, correspondences])')
    sample = results['data_samples']
    for key in ('crop_boxes', 'crop_flips', 'correspondences'):
        if key not in sample:
            raise KeyError(f'the packed data sample has no {key!r}: add it to '
                           'PackInputs(algorithm_keys=...)')
    views = [v.permute(1, 2, 0).numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
             for v in results['inputs']]
    # The crop step's own resize + flip, without the photometric pipelines.
    boxes, flips = np.asarray(sample.crop_boxes), np.asarray(sample.crop_flips)
    raw_views = [crops[0]._crop(image, tuple(int(v) for v in box), bool(flip))
                 for box, flip in zip(boxes, flips)]
    return dict(image=image, views=views, raw_views=raw_views, data_sample=sample,
                view_size=corrs[0].view_size, grains=corrs[0].grains)


def cell_rect(index: int, grain: int, view_size: int) -> Tuple[int, int, int, int]:
    """``(x, y, w, h)`` of token ``index`` in the view as the model sees it (flipped
    if the view was), in view pixels."""
    L = view_size // grain
    return (index % L) * grain, (index // L) * grain, grain, grain


def cell_rect_in_image(index: int, grain: int, view_size: int, box: Sequence[int],
                       flip: bool) -> Tuple[float, float, float, float]:
    """``(x, y, w, h)`` of token ``index`` of a view in original-image pixels.

    Args:
        index (int): token index in the (possibly flipped) view.
        grain (int): cell size in view pixels.
        view_size (int): side of the view.
        box (sequence[int]): the view's crop box ``(x, y, w, h)`` in the image.
        flip (bool): whether the view was flipped horizontally.
    """
    L = view_size // grain
    row, col = index // L, index % L
    if flip:  # the view's column c is the crop's column L - 1 - c
        col = L - 1 - col
    x, y, w, h = (float(v) for v in box)
    return x + col * w / L, y + row * h / L, w / L, h / L


def valid_pairs(correspondences: Dict[int, dict],
                grains: Sequence[int]) -> List[Tuple[int, int, int, float]]:
    """``(grain, idx1, idx2, weight)`` of every valid pair, grains in the given order,
    pairs in selection order."""
    pairs = []
    for g in grains:
        if g not in correspondences:
            raise KeyError(f'no correspondences for grain {g}; the sample has grains '
                           f'{sorted(correspondences)}')
        c = correspondences[g]
        valid = torch.as_tensor(c['valid']).bool()
        for i1, i2, w in zip(torch.as_tensor(c['idx1'])[valid].tolist(),
                             torch.as_tensor(c['idx2'])[valid].tolist(),
                             torch.as_tensor(c['weight'])[valid].tolist()):
            pairs.append((int(g), int(i1), int(i2), float(w)))
    return pairs


def pair_linewidth(weight: float) -> float:
    """Line width of a pair: ``weight = |a ∩ c| / (|a| + |c|)`` is at most 0.5
    (identical cells), which gets 4.5 points."""
    return 0.5 + 8.0 * weight


def _new_figure(width_px: float, height_px: float, dpi: float) -> Figure:
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)  # render with Agg whatever pyplot's backend is
    return fig


def _bgr_to_rgb(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(img)[..., ::-1])


def _legend(fig: Figure, grains, pairs, colours) -> None:
    """One entry per grain at the bottom of the figure, outside the pictures."""
    handles = [Line2D([], [], color=colours[g], lw=2,
                      label=f'grain {g}: {sum(p[0] == g for p in pairs)} pairs')
               for g in grains]
    fig.legend(handles=handles, fontsize=7, loc='lower center', ncol=len(grains),
               frameon=False, borderaxespad=0.2, handlelength=1.5)


def draw_correspondences(views: Sequence[np.ndarray], correspondences: Dict[int, dict],
                         grains: Sequence[int], view_size: int,
                         flips: Optional[Sequence[bool]] = None, title: str = '',
                         scale: float = 2.0, dpi: float = 100.
                         ) -> Tuple[Figure, List[Tuple[int, int, int, float]]]:
    """The two views side by side, each valid pair's cells outlined in its grain's
    colour and joined by a line whose width grows with the pair's weight.

    Args:
        views (sequence[ndarray]): the two views, HWC uint8 **BGR**, as the model
            sees them (after their flips).
        correspondences (dict): ``{grain: dict(idx1, idx2, weight, valid)}`` of the
            sample (``data_sample.correspondences``).
        grains (sequence[int]): grains to draw, in drawing order.
        view_size (int): side of the views the indices refer to.
        flips (sequence[bool], optional): the views' flips, for the captions.
        title (str): figure title.
        scale (float): screen pixels per view pixel.
        dpi (float): resolution of the figure.

    Returns:
        tuple: the figure and the ``(grain, idx1, idx2, weight)`` pairs drawn, in
        drawing order. View 2 is drawn at ``x + view_size + VIEW_GAP``.
    """
    if len(views) != 2:
        raise ValueError(f'need two views, got {len(views)}')
    for v in views:
        if v.shape[:2] != (view_size, view_size):
            raise ValueError(f'view of shape {v.shape[:2]} is not {view_size}x{view_size}')
    off = view_size + VIEW_GAP
    canvas = np.full((view_size, 2 * view_size + VIEW_GAP, 3), 255, dtype=np.uint8)
    canvas[:, :view_size] = _bgr_to_rgb(views[0])
    canvas[:, off:] = _bgr_to_rgb(views[1])

    top = 28 if title else 16  # room for the captions
    bottom = 14  # and for the legend
    height = view_size + top + bottom
    fig = _new_figure(canvas.shape[1] * scale, height * scale, dpi)
    ax = fig.add_axes((0, bottom / height, 1, view_size / height))
    # extent: pixel (0, 0)'s top-left corner at (0, 0), so cells sit on integer edges
    ax.imshow(canvas, extent=(0, canvas.shape[1], view_size, 0), interpolation='nearest')
    ax.set_xlim(0, canvas.shape[1])
    ax.set_ylim(view_size, 0)
    ax.set_axis_off()
    for i, x in enumerate((0, off)):
        flipped = ' (flipped)' if flips is not None and bool(flips[i]) else ''
        ax.text(x + view_size / 2, -3, f'view {i + 1}{flipped}', ha='center', va='bottom',
                fontsize=8, clip_on=False)
    if title:
        fig.suptitle(title, fontsize=8, y=0.995, va='top')

    colours = {g: GRAIN_COLOURS[i % len(GRAIN_COLOURS)] for i, g in enumerate(grains)}
    pairs = valid_pairs(correspondences, grains)
    for g, i1, i2, w in pairs:
        x1, y1, s, _ = cell_rect(i1, g, view_size)
        x2, y2, _, _ = cell_rect(i2, g, view_size)
        x2 += off
        for x, y in ((x1, y1), (x2, y2)):
            ax.add_patch(Rectangle((x, y), s, s, fill=False, edgecolor=colours[g],
                                   linewidth=1.5, gid=f'cell_g{g}'))
        ax.add_line(Line2D([x1 + s / 2, x2 + s / 2], [y1 + s / 2, y2 + s / 2],
                           color=colours[g], linewidth=pair_linewidth(w), alpha=0.75,
                           gid=f'pair_g{g}'))
    _legend(fig, grains, pairs, colours)
    return fig, pairs


def draw_crop_boxes(image: np.ndarray, boxes: Sequence[Sequence[int]],
                    flips: Sequence[bool], correspondences: Optional[Dict[int, dict]] = None,
                    grains: Sequence[int] = (), view_size: int = 224, title: str = '',
                    max_side: float = 512., dpi: float = 100.) -> Figure:
    """The original image with both crop boxes and, if ``correspondences`` is given,
    each grain's matched cells mapped back into the image (view 1's cells solid, view
    2's dashed), so that one sees matched cells cover the same scene.

    Args:
        image (ndarray): HWC uint8 BGR image the boxes refer to.
        boxes (sequence): the two ``(x, y, w, h)`` crop boxes.
        flips (sequence[bool]): the two views' flips.
        correspondences (dict, optional): ``{grain: dict(idx1, idx2, weight, valid)}``.
        grains (sequence[int]): grains whose cells to draw.
        view_size (int): side of the views the indices refer to.
        title (str): figure title.
        max_side (float): the longer image side in screen pixels.
        dpi (float): resolution of the figure.
    """
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    top = 20 if title else 4
    bottom = 22 if correspondences is not None and grains else 4  # the legend
    height = h * scale + top + bottom
    fig = _new_figure(w * scale, height, dpi)
    ax = fig.add_axes((0, bottom / height, 1, h * scale / height))
    ax.imshow(_bgr_to_rgb(image), extent=(0, w, h, 0))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    for i, ((x, y, bw, bh), flip, style) in enumerate(zip(boxes, flips, ('-', '--'))):
        ax.add_patch(Rectangle((x, y), bw, bh, fill=False, edgecolor='white', linewidth=2.5,
                               linestyle=style, gid=f'box{i + 1}'))
        # view 1 labelled at its top-left corner, view 2 at its bottom-left: no overlap
        ax.text(x + 3, y + 3 if i == 0 else y + bh - 3,
                f'view {i + 1}' + (' (flipped)' if flip else ''), color='black', fontsize=8,
                va='top' if i == 0 else 'bottom',
                bbox=dict(facecolor='white', alpha=0.8, pad=1, lw=0))
    if title:
        fig.suptitle(title, fontsize=8, y=0.995, va='top')
    if correspondences is not None and grains:
        colours = {g: GRAIN_COLOURS[i % len(GRAIN_COLOURS)] for i, g in enumerate(grains)}
        pairs = valid_pairs(correspondences, grains)
        for g, i1, i2, _ in pairs:
            for idx, box, flip, style in ((i1, boxes[0], flips[0], '-'),
                                          (i2, boxes[1], flips[1], '--')):
                x, y, cw, ch = cell_rect_in_image(idx, g, view_size, box, bool(flip))
                ax.add_patch(Rectangle((x, y), cw, ch, fill=False, edgecolor=colours[g],
                                       linewidth=1.2, linestyle=style, gid=f'cell_g{g}'))
        _legend(fig, grains, pairs, colours)
    return fig
