"""Weighted kNN accuracy (DINO protocol) of a frozen backbone on a classification folder.

    python tools/analysis_tools/knn_eval.py CKPT --data-root DIR [--train-dir train]
        [--val-dir val] [--config CFG] [--branch online|momentum] [--random-init]
        [--k 20] [--temperature 0.07] [--input-size 224] [--pool auto|cls|avg]
        [--batch-size 64] [--out FILE] [--launcher none|pytorch]

    # the bundled real data (COCO instance crops, 8 classes)
    python tools/analysis_tools/knn_eval.py CKPT --data-root demo/data/coco_cls
    # the random-init baseline of the same backbone (config from CKPT or --config)
    python tools/analysis_tools/knn_eval.py CKPT --random-init --data-root DIR
    # several GPUs / processes: images are split over ranks, rank 0 prints
    torchrun --nproc_per_node 8 tools/analysis_tools/knn_eval.py CKPT --launcher pytorch ...

DIR is ImageNet-layout: ``DIR/train/<class>/*.jpg`` is the memory and
``DIR/val/<class>/*.jpg`` the queries (``--val-dir`` may also be an absolute path).
Features: the class token of a ViT, the average-pooled C5 of a ResNet; each val image
takes the exp(cos / T)-weighted vote of its k nearest train images. Prints (rank 0)
top-1 / top-5 accuracy (%) and images/s. See mgc_mm/evaluation/knn.py.
"""
import argparse
import os.path as osp
import sys
import time

import torch
from mmengine import dist

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mgc_mm  # noqa: E402,F401
from mgc_mm.evaluation.common import (add_backbone_args, add_runtime_args,  # noqa: E402
                                     check_backbone_args, report_and_finish)
from mgc_mm.evaluation import (KNNEval, build_backbone,  # noqa: E402
                               init_eval_launcher, knn_splits)
from mgc_mm.evaluation.knn import POOLS  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Weighted kNN evaluation of a frozen backbone')
    add_backbone_args(p, 'evaluate')
    p.add_argument('--data-root', required=True, help='root of the classification folder')
    p.add_argument('--train-dir', default='train', help='memory images (class subfolders), '
                   'relative to --data-root')
    p.add_argument('--val-dir', default='val', help='query images (class subfolders)')
    p.add_argument('--max-train-images', type=int, help='a strided subset of the memory')
    p.add_argument('--max-val-images', type=int, help='a strided subset of the queries')
    p.add_argument('--k', type=int, default=20, help='neighbours')
    p.add_argument('--temperature', type=float, default=0.07, help='vote temperature')
    p.add_argument('--input-size', type=int, default=224, help='side of the centre crop')
    p.add_argument('--pool', choices=POOLS, default='auto',
                   help='auto: ViT class token / ResNet pooled C5; avg: mean of the '
                   'last feature map (ViT patch tokens)')
    add_runtime_args(p, batch_size=64, seed_help='seed of the random init')
    args = p.parse_args(argv)
    check_backbone_args(p, args)
    return args


def format_table(figures, args, info) -> str:
    what = 'random init' if args.random_init else f'{info["branch"]} backbone'
    rows = [
        ('backbone', f'{what} ({info["config"]})'),
        ('features', f'{args.pool} ({figures["feature_dim"]}-d), '
         f'{args.input_size} x {args.input_size} centre crop'),
        ('train / val images, classes',
         f'{figures["num_train_images"]} / {figures["num_val_images"]}, '
         f'{figures["num_classes"]}'),
        (f'kNN top-1 / top-5 (%) (k={args.k}, T={args.temperature})',
         f'{100 * figures["top1"]:.2f} / {100 * figures["top5"]:.2f}'),
        ('images/s (feature extraction)', f'{figures["images_per_s"]:.1f}'),
    ]
    width = max(len(r[0]) for r in rows)
    return '\n'.join(f'{name:<{width}}  {value}' for name, value in rows)


def main(argv=None):
    args = parse_args(argv)
    device = init_eval_launcher(args.launcher, args.local_rank, args.device)
    train, val, classes = knn_splits(args.data_root, args.train_dir, args.val_dir,
                                     args.max_train_images, args.max_val_images)
    backbone, info = build_backbone(args.checkpoint, args.config, args.branch,
                                    args.random_init, args.seed)
    backbone.to(device)
    knn = KNNEval(train, val, num_classes=len(classes), k=args.k,
                  temperature=args.temperature, input_size=args.input_size, pool=args.pool,
                  batch_size=args.batch_size, num_workers=args.workers,
                  progress=not args.no_progress)
    start = time.perf_counter()
    figures = knn.run(backbone, device)
    if dist.get_rank() == 0:
        figures.update(seconds=round(time.perf_counter() - start, 1),
                       input_size=args.input_size, pool=args.pool, classes=classes,
                       checkpoint=args.checkpoint, branch=info['branch'],
                       random_init=args.random_init, world_size=dist.get_world_size())
    report_and_finish(figures, format_table(figures, args, info) if figures else None,
                      args.out)


if __name__ == '__main__':
    main()
