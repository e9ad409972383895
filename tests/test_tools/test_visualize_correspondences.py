"""tools/analysis_tools/visualize_correspondences.py and mgc_mm.visualization.correspondences:
the pictures show the pipeline's real views and exactly the pairs MGC trains on."""
import copy
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from matplotlib.patches import Rectangle
from mmengine.config import Config
from PIL import Image

from mgc_mm.models.utils import grain_correspondences
from mgc_mm.visualization import (draw_correspondences, draw_crop_boxes, pair_linewidth,
                                  sample_views)
from mgc_mm.visualization.correspondences import VIEW_GAP
from tests.conftest import DEMO_IMAGES, REPO

CONFIG = osp.join(REPO, 'configs', 'mgc', 'mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')
IMAGE = osp.join(DEMO_IMAGES, '000000000009.jpg')
GRAINS = (16, 32, 112)
SEEDS = range(6)


@pytest.fixture(scope='module')
def pipeline():
    return Config.fromfile(CONFIG).train_dataloader.dataset.pipeline


@pytest.fixture(scope='module')
def samples(pipeline):
    return {seed: sample_views(pipeline, IMAGE, seed) for seed in SEEDS}


def independent_pairs(sample, grain):
    """Valid (grain, idx1, idx2, weight) of grain_correspondences on the packed boxes."""
    boxes = torch.as_tensor(np.asarray(sample.crop_boxes))
    flips = torch.as_tensor(np.asarray(sample.crop_flips))
    c = grain_correspondences(boxes[0:1], boxes[1:2], flips[0:1], flips[1:2], grain)
    v = c.valid[0]
    return [(grain, int(a), int(b), float(w))
            for a, b, w in zip(c.idx1[0][v], c.idx2[0][v], c.weight[0][v])]


def test_drawn_pairs_are_the_correspondences(samples):
    flipped = set()
    for seed, out in samples.items():
        sample = out['data_sample']
        flipped.update(bool(f) for f in sample.crop_flips)
        fig, drawn = draw_correspondences(out['views'], sample.correspondences, GRAINS,
                                          out['view_size'], flips=sample.crop_flips)
        expected = [p for g in GRAINS for p in independent_pairs(sample, g)]
        assert drawn == expected, seed
        assert {g for g, *_ in drawn} == set(GRAINS)  # every grain has pairs
        # The picture holds one outline per cell and one line per pair, where the
        # index says: row i // L, col i % L of the (flipped) view, view 2 shifted.
        ax = fig.axes[0]
        off = out['view_size'] + VIEW_GAP
        for g in GRAINS:
            L = out['view_size'] // g
            mine = [p for p in drawn if p[0] == g]
            rects = [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in ax.patches
                     if isinstance(r, Rectangle) and r.get_gid() == f'cell_g{g}']
            want = []
            for _, i1, i2, _ in mine:
                want += [((i1 % L) * g, (i1 // L) * g, g, g),
                         ((i2 % L) * g + off, (i2 // L) * g, g, g)]
            assert rects == want
            lines = [ln for ln in ax.lines if ln.get_gid() == f'pair_g{g}']
            assert len(lines) == len(mine)
            for ln, (_, i1, i2, w), k in zip(lines, mine, range(len(mine))):
                c1, c2 = want[2 * k][:2], want[2 * k + 1][:2]
                np.testing.assert_array_equal(ln.get_xdata(), [c1[0] + g / 2, c2[0] + g / 2])
                np.testing.assert_array_equal(ln.get_ydata(), [c1[1] + g / 2, c2[1] + g / 2])
                assert ln.get_linewidth() == pytest.approx(pair_linewidth(w))
        # The views shown are the packed model inputs (BGR -> RGB), side by side.
        canvas = np.asarray(ax.images[0].get_array())
        np.testing.assert_array_equal(canvas[:, :out['view_size']], out['views'][0][..., ::-1])
        np.testing.assert_array_equal(canvas[:, off:], out['views'][1][..., ::-1])
    assert flipped == {False, True}, 'the seeds should cover flipped and unflipped views'
    assert pair_linewidth(0.5) > pair_linewidth(0.1) > pair_linewidth(0.)


def test_cells_mapped_back_overlap_by_their_weight(samples):
    """In the original image the two cells of a pair overlap, and
    |a ∩ c| / (|a| + |c|) of the drawn rectangles is the pair's weight: the cell
    geometry (rows, columns, flips) of the boxes picture is right."""
    for seed, out in samples.items():
        sample = out['data_sample']
        boxes, flips = sample.crop_boxes.tolist(), list(sample.crop_flips)
        fig = draw_crop_boxes(out['image'], boxes, flips, sample.correspondences, GRAINS,
                              out['view_size'])
        ax = fig.axes[0]
        for i, box in enumerate(boxes):
            r = next(p for p in ax.patches if p.get_gid() == f'box{i + 1}')
            assert [r.get_x(), r.get_y(), r.get_width(), r.get_height()] == box
        for g in GRAINS:
            rects = [p for p in ax.patches if p.get_gid() == f'cell_g{g}']
            pairs = independent_pairs(sample, g)
            assert len(rects) == 2 * len(pairs)
            for (_, _, _, w), a, c in zip(pairs, rects[0::2], rects[1::2]):
                ax0, ay0, aw, ah = a.get_x(), a.get_y(), a.get_width(), a.get_height()
                cx0, cy0, cw, ch = c.get_x(), c.get_y(), c.get_width(), c.get_height()
                iw = min(ax0 + aw, cx0 + cw) - max(ax0, cx0)
                ih = min(ay0 + ah, cy0 + ch) - max(ay0, cy0)
                assert iw > 0 and ih > 0, (seed, g)
                # float64 geometry vs the float32-rounded exact ratio: rel. 2**-24 apart
                assert iw * ih / (aw * ah + cw * ch) == pytest.approx(w, rel=1e-6), (seed, g)


def test_raw_views_are_the_crops_without_photometric_aug(pipeline, samples):
    plain = copy.deepcopy(pipeline)
    crop = next(t for t in plain if t['type'] == 'CoupledRandomResizedCrop')
    crop['view_pipelines'] = [[], []]
    # Boxes and flips are drawn before the photometric steps: same seed, same crops.
    for seed in (0, 1):
        ref, got = samples[seed], sample_views(plain, IMAGE, seed)
        np.testing.assert_array_equal(ref['data_sample'].crop_boxes, got['data_sample'].crop_boxes)
        for raw, view in zip(ref['raw_views'], got['views']):
            np.testing.assert_array_equal(raw, view)
    # ... and the photometric pipeline did change the views the model sees.
    assert any(not np.array_equal(r, v) for s in samples.values()
               for r, v in zip(s['raw_views'], s['views']))


def test_errors(pipeline, samples):
    out = samples[0]
    with pytest.raises(KeyError, match='grains'):
        draw_correspondences(out['views'], out['data_sample'].correspondences, (8, ),
                             out['view_size'])
    no_corr = [t for t in pipeline if t['type'] != 'MultiGrainCorrespondences']
    with pytest.raises(ValueError, match='MultiGrainCorrespondences'):
        sample_views(no_corr, IMAGE, 0)


@pytest.mark.slow
def test_tool_writes_pngs(tmp_path):
    tool = osp.join(REPO, 'tools', 'analysis_tools', 'visualize_correspondences.py')
    res = subprocess.run([sys.executable, tool, IMAGE, '--grains', '32', '112', '--seed', '3',
                          '--out', str(tmp_path), '--scale', '1'],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    stem = osp.join(tmp_path, '000000000009_seed3')
    for suffix in ('_boxes.png', '_pairs.png'):
        with Image.open(stem + suffix) as img:
            img.verify()
            assert img.format == 'PNG'
    with Image.open(stem + '_pairs.png') as img:
        assert img.width == 2 * 224 + VIEW_GAP  # --scale 1: one screen pixel a view pixel
    # What it printed is what grain_correspondences gives for the printed boxes.
    out = sample_views(Config.fromfile(CONFIG).train_dataloader.dataset.pipeline, IMAGE, 3)
    for g in (32, 112):
        assert f'grain {g}: {len(independent_pairs(out["data_sample"], g))} pairs' in res.stdout
    assert 'grain 16' not in res.stdout
