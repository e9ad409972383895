"""Draw what MGC matches on one image: the two crops and each grain's token pairs.

    python tools/analysis_tools/visualize_correspondences.py IMG [--config CFG]
        [--grains 16 32 112] [--seed N] [--out DIR] [--name NAME] [--before-photometric]
        [--scale 2] [--max-side 512]

Runs CFG's training pipeline (default: the MGC ViT-S/16 COCO pretraining config) on IMG
and writes two PNGs to DIR (default work_dirs/correspondences):

* ``NAME_boxes.png``: the image with both crop boxes (view 1 solid, view 2 dashed) and
  the matched cells mapped back into the image;
* ``NAME_pairs.png``: the two views side by side as the model receives them (after the
  flips and the photometric augmentation; ``--before-photometric`` shows the same crops
  without it), each grain's matched cells outlined in the grain's colour and joined by a
  line whose width grows with the pair's weight.

NAME defaults to ``<image name>_seed<N>``; without ``--seed`` a seed is drawn and printed.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
import mgc_mm  # noqa: E402,F401  (registers the transforms)
from mgc_mm.visualization import draw_correspondences, draw_crop_boxes, sample_views  # noqa: E402

DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'mgc', 'mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('img', help='image file')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='pretraining config whose train pipeline is run')
    parser.add_argument('--grains', type=int, nargs='+',
                        help="grains to draw (default: all of the pipeline's)")
    parser.add_argument('--seed', type=int, help='seed of the crops and augmentations')
    parser.add_argument('--out', default='work_dirs/correspondences', help='output folder')
    parser.add_argument('--name', help='file name prefix (default: <image>_seed<N>)')
    parser.add_argument('--before-photometric', action='store_true',
                        help='draw the crops before colour jitter / grayscale / blur / solarize')
    parser.add_argument('--scale', type=float, default=2.0,
                        help='pairs picture: screen pixels per view pixel (default 2)')
    parser.add_argument('--max-side', type=float, default=512,
                        help='boxes picture: longer image side in pixels (default 512)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.img):
        raise FileNotFoundError(f'image {args.img!r} does not exist')
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    out = sample_views(cfg.train_dataloader.dataset.pipeline, args.img, seed)
    grains = tuple(args.grains or out['grains'])
    sample = out['data_sample']
    boxes, flips = sample.crop_boxes.tolist(), [bool(f) for f in sample.crop_flips]
    name = args.name or f'{osp.splitext(osp.basename(args.img))[0]}_seed{seed}'
    title = f'{osp.basename(args.img)}, seed {seed}'
    os.makedirs(args.out, exist_ok=True)

    fig = draw_crop_boxes(out['image'], boxes, flips, sample.correspondences, grains,
                          out['view_size'], title=f'{title}: crop boxes and matched cells',
                          max_side=args.max_side)
    boxes_png = osp.join(args.out, f'{name}_boxes.png')
    fig.savefig(boxes_png)
    views = out['raw_views'] if args.before_photometric else out['views']
    stage = 'before' if args.before_photometric else 'after'
    fig, pairs = draw_correspondences(
        views, sample.correspondences, grains, out['view_size'], flips=flips, scale=args.scale,
        title=f'{title}: views {stage} photometric augmentation; line width ~ pair weight')
    pairs_png = osp.join(args.out, f'{name}_pairs.png')
    fig.savefig(pairs_png)

    print(f'seed {seed}; crop boxes (x, y, w, h) {boxes}, flips {flips}')
    for g in grains:
        drawn = [(i1, i2, round(w, 4)) for gg, i1, i2, w in pairs if gg == g]
        print(f'grain {g}: {len(drawn)} pairs (idx1, idx2, weight) {drawn}')
    print(f'wrote {boxes_png} and {pairs_png}')


if __name__ == '__main__':
    main()
