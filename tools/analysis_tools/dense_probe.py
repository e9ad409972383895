"""Dense-probe figures of a frozen backbone on a labeled segmentation folder.

    python tools/analysis_tools/dense_probe.py CKPT --data-root DIR [--img-dir train2017]
        [--ann-dir annotations/semantic_train2017] [--reduce-zero-label]
        [--val-fraction 0.25 | --val-list FILE [--train-list FILE] | --val-img-dir DIR
         --val-ann-dir DIR] [--config CFG] [--branch online|momentum] [--random-init]
        [--input-size 448] [--measurements linear retrieval cross_view] [--k 30]
        [--temperature 0.02] [--eval-res mask|patch] [--seed 0] [--out FILE]
        [--launcher none|pytorch]

    # the random-init baseline of the same backbone (config from CKPT or --config)
    python tools/analysis_tools/dense_probe.py CKPT --random-init --data-root DIR ...
    # ResNets: random weights with BatchNorm statistics re-estimated on the train split
    # (a random ResNet's BNs are identities in eval mode; see recalibrate_batchnorm)
    python tools/analysis_tools/dense_probe.py CKPT --random-init --recalibrate-bn ...
    # several GPUs / processes: images are split over ranks, rank 0 prints
    torchrun --nproc_per_node 8 tools/analysis_tools/dense_probe.py CKPT --launcher pytorch ...

Prints (rank 0), all on the val split:
  * linear-probe mIoU: a per-patch linear classifier trained on the frozen train
    patch features, logits upsampled to the mask resolution;
  * retrieval mIoU: each val patch takes the softmax(sim / T)-weighted vote of its k
    nearest train patches (cosine), the "in-context" protocol of Balažević et al.;
  * cross-view top-1 / top-5: for two random overlapping crops of each val image, the
    share of view-1 patches whose nearest view-2 patch is the geometric match;
  * the numbers of train / val images and patches.
See mgc_mm/evaluation/dense_probe.py for the protocol details.
"""
import argparse
import os.path as osp
import sys
import time

import torch
from mmengine import dist
from mmengine.logging import print_log

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mgc_mm  # noqa: E402,F401
from mgc_mm.evaluation.common import (add_backbone_args, add_runtime_args,  # noqa: E402
                                     check_backbone_args, report_and_finish)
from mgc_mm.evaluation import (MEASUREMENTS, DenseProbe, ProbeImages,  # noqa: E402
                               build_backbone, exclude_images, find_labeled_images,
                               init_eval_launcher, recalibrate_batchnorm,
                               split_labeled_images)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Dense-probe evaluation of a frozen backbone')
    add_backbone_args(p, 'probe')
    p.add_argument('--data-root', required=True, help='root of the labeled folder')
    p.add_argument('--img-dir', default='train2017', help='images, relative to --data-root')
    p.add_argument('--ann-dir', default='annotations/semantic_train2017',
                   help='PNG class-index masks with the image stems, relative to --data-root')
    p.add_argument('--img-suffix', help='only images ending with it (default: any .jpg, '
                   '.jpeg, .png)')
    p.add_argument('--seg-map-suffix', default='.png')
    p.add_argument('--val-img-dir', help='a separate val folder (then all of --img-dir trains)')
    p.add_argument('--val-ann-dir', help='masks of --val-img-dir')
    p.add_argument('--val-fraction', type=float, default=0.25,
                   help='share of the images in the val split (seeded split)')
    p.add_argument('--train-list', help='file of train image stems, one a line')
    p.add_argument('--val-list', help='file of val image stems, one a line')
    p.add_argument('--exclude-dir', nargs='+', default=[], metavar='DIR',
                   help='leave out the labeled images whose stem names an image in DIR '
                   '(the pretraining images, e.g. demo/data/coco/train2017): a learning '
                   'check on images the backbone has not seen')
    p.add_argument('--max-train-images', type=int)
    p.add_argument('--max-val-images', type=int)
    p.add_argument('--reduce-zero-label', action='store_true',
                   help='0 = unlabeled: ignore it and shift the classes down (ADE20K, '
                   'the bundled COCO masks)')
    p.add_argument('--ignore-index', type=int, default=255)
    p.add_argument('--num-classes', type=int, help='default: the largest label + 1')
    p.add_argument('--input-size', type=int, default=448, help='side of the square input')
    p.add_argument('--measurements', nargs='+', choices=MEASUREMENTS, default=list(MEASUREMENTS))
    p.add_argument('--k', type=int, default=30, help='retrieval neighbours')
    p.add_argument('--temperature', type=float, default=0.02, help='retrieval temperature')
    p.add_argument('--label-mode', choices=['majority', 'nearest'], default='majority',
                   help='patch labels: majority of the covered pixels, or the centre pixel')
    p.add_argument('--eval-res', choices=['mask', 'patch'], default='mask',
                   help='score at the mask resolution (upsampled predictions) or the patch grid')
    p.add_argument('--linear-epochs', type=int, default=20)
    p.add_argument('--linear-lr', type=float, default=3e-2, help='Adam learning rate')
    p.add_argument('--linear-batch-size', type=int, default=512, help='patches per step')
    p.add_argument('--cross-view-photometric', action='store_true',
                   help='cross-view pairs also get MoCo v2 colour jitter / grayscale / blur '
                   'per view (default: crops and flips only)')
    p.add_argument('--recalibrate-bn', action='store_true',
                   help='re-estimate BatchNorm statistics on the train split before '
                   'probing (with --random-init: the random-weights, data-statistics '
                   'baseline of BN backbones)')
    add_runtime_args(p, batch_size=16, seed_help='split, crops, linear probe, random init')
    args = p.parse_args(argv)
    check_backbone_args(p, args)
    if bool(args.val_img_dir) != bool(args.val_ann_dir):
        p.error('--val-img-dir and --val-ann-dir go together')
    return args


def init_launcher(args) -> torch.device:
    return init_eval_launcher(args.launcher, args.local_rank, args.device)


def read_list(path):
    if path is None:
        return None
    with open(path) as f:
        return [osp.splitext(line.strip())[0] for line in f if line.strip()]


def build_splits(args):
    root = args.data_root
    pairs = find_labeled_images(osp.join(root, args.img_dir), osp.join(root, args.ann_dir),
                                args.img_suffix, args.seg_map_suffix)
    val = None
    if args.val_img_dir:
        val = find_labeled_images(osp.join(root, args.val_img_dir),
                                  osp.join(root, args.val_ann_dir), args.img_suffix,
                                  args.seg_map_suffix)
    left_out = set()
    if args.exclude_dir:
        labeled = pairs + (val or [])
        pairs = exclude_images(pairs, args.exclude_dir)
        if val is not None:
            val = exclude_images(val, args.exclude_dir)
        left_out = {osp.splitext(osp.basename(img))[0]
                    for img, _ in set(labeled) - set(pairs + (val or []))}
        print_log(f'--exclude-dir: {len(labeled) - len(pairs) - len(val or [])} of '
                  f'{len(labeled)} labeled images are in {args.exclude_dir} and left out',
                  logger='current')
    if val is not None:
        return pairs[:args.max_train_images], val[:args.max_val_images]
    lists = {k: read_list(getattr(args, k)) for k in ('train_list', 'val_list')}
    for key, listed in lists.items():
        gone = sorted(set(listed or []) & left_out)
        if gone:
            raise ValueError(f'--{key.replace("_", "-")} {getattr(args, key)} names images '
                             f'that --exclude-dir leaves out: {gone[:5]}')
    return split_labeled_images(pairs, args.val_fraction, args.seed, lists['train_list'],
                                lists['val_list'], args.max_train_images,
                                args.max_val_images)


def format_table(figures, args, info) -> str:
    def pct(key):
        v = figures.get(key)
        return '-' if v is None or v != v else f'{100 * v:.2f}'

    what = 'random init' if args.random_init else f'{info["branch"]} backbone'
    if info.get('bn_layers'):
        what += f', BN statistics re-estimated on the train split ({info["bn_layers"]} layers)'
    rows = [
        ('backbone', f'{what} ({info["config"]})'),
        ('input size', f'{args.input_size} x {args.input_size}'),
        ('train images / labeled patches',
         f'{figures["num_train_images"]} / {figures.get("num_train_patches", "-")}'),
        ('val images / patches',
         f'{figures["num_val_images"]} / {figures.get("num_val_patches", "-")}'),
    ]
    if 'linear' in args.measurements:
        rows.append(('linear-probe mIoU (%)', pct('linear_mIoU')))
    if 'retrieval' in args.measurements:
        rows.append((f'retrieval mIoU (%) (k={args.k}, T={args.temperature})',
                     pct('retrieval_mIoU')))
    if 'cross_view' in args.measurements:
        views = ' (photometric views)' if args.cross_view_photometric else ''
        rows.append((f'cross-view top-1 / top-5 (%){views}',
                     f'{pct("cross_view_top1")} / {pct("cross_view_top5")}'))
        rows.append(('cross-view anchors / chance top-1 (%)',
                     f'{figures["num_cross_view_anchors"]} / {pct("cross_view_chance_top1")}'))
    width = max(len(r[0]) for r in rows)
    return '\n'.join(f'{name:<{width}}  {value}' for name, value in rows)


def main(argv=None):
    args = parse_args(argv)
    device = init_launcher(args)
    train, val = build_splits(args)
    backbone, info = build_backbone(args.checkpoint, args.config, args.branch,
                                    args.random_init, args.seed)
    backbone.to(device)
    if args.recalibrate_bn:
        loader = torch.utils.data.DataLoader(
            ProbeImages([img for img, _ in train], args.input_size),
            batch_size=args.batch_size, num_workers=args.workers)
        info['bn_layers'] = recalibrate_batchnorm(
            backbone, (batch['img'].to(device) for batch in loader))
    probe = DenseProbe(
        train, val, args.measurements, num_classes=args.num_classes,
        input_size=args.input_size, reduce_zero_label=args.reduce_zero_label,
        ignore_index=args.ignore_index, label_mode=args.label_mode,
        eval_resolution=args.eval_res, k=args.k, temperature=args.temperature,
        linear_cfg=dict(epochs=args.linear_epochs, lr=args.linear_lr,
                        batch_size=args.linear_batch_size),
        batch_size=args.batch_size, num_workers=args.workers, seed=args.seed,
        progress=not args.no_progress, cross_view_photometric=args.cross_view_photometric)
    start = time.perf_counter()
    figures = probe.run(backbone, device)
    if dist.get_rank() == 0:
        figures['seconds'] = round(time.perf_counter() - start, 1)
        figures.update(k=args.k, temperature=args.temperature, input_size=args.input_size,
                       checkpoint=args.checkpoint, branch=info['branch'],
                       random_init=args.random_init,
                       cross_view_photometric=args.cross_view_photometric,
                       recalibrated_bn_layers=info.get('bn_layers', 0))
    report_and_finish(figures, format_table(figures, args, info) if figures else None,
                      args.out)


if __name__ == '__main__':
    main()
