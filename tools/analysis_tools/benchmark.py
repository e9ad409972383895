"""Speed and memory figures of a pretraining config (MGC, DenseCL, MoCo v2, MCL...).

    python tools/analysis_tools/benchmark.py CONFIG [--data-root DIR] [--samples 200]
        [--corr-batch 64] [--batch-size 8] [--threads 2] [--steps 3]

Prints:
  * data pipeline samples/s of one worker (decode, coupled crops, photometric
    augmentation, correspondences, packing), single-threaded as a dataloader worker;
  * correspondence time per sample for all grains, batched, single-threaded;
  * training step time (forward of online + target, backward, optimizer step) and
    peak memory at the given batch size and thread count.
"""
import argparse
import os
import os.path as osp
import resource
import sys
import time

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mgc_mm  # noqa: E402,F401
from mgc_mm.models.utils import grain_correspondences  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description='Benchmark an MGC config')
    p.add_argument('config')
    p.add_argument('--data-root', help='override train_dataloader.dataset.data_root')
    p.add_argument('--data-prefix', help='override train_dataloader.dataset.data_prefix')
    p.add_argument('--samples', type=int, default=200, help='pipeline samples to time')
    p.add_argument('--corr-batch', type=int, default=64)
    p.add_argument('--corr-repeats', type=int, default=50)
    p.add_argument('--batch-size', type=int, default=8, help='train-step batch size')
    p.add_argument('--threads', type=int, default=2, help='torch threads for the train step')
    p.add_argument('--steps', type=int, default=3, help='timed train steps (after 1 warm-up)')
    p.add_argument('--skip', nargs='*', default=[], choices=['pipeline', 'corr', 'step'])
    return p.parse_args()


def build_dataset(cfg, args):
    from mmpretrain.registry import DATASETS
    ds_cfg = cfg.train_dataloader.dataset
    if args.data_root is not None:
        ds_cfg.data_root = args.data_root
    if args.data_prefix is not None:
        ds_cfg.data_prefix = args.data_prefix
    return DATASETS.build(ds_cfg)


def bench_pipeline(ds, n):
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    for i in range(min(10, len(ds))):
        ds[i]
    start = time.perf_counter()
    for i in range(n):
        ds[i % len(ds)]
    rate = n / (time.perf_counter() - start)
    print(f'pipeline: {rate:.1f} samples/s per worker (1 thread, {n} samples, '
          f'{len(ds)} images)')
    return rate


def bench_corr(ds, batch, repeats, grains):
    torch.set_num_threads(1)
    from mgc_mm.datasets.transforms import CoupledRandomResizedCrop
    crop = CoupledRandomResizedCrop()
    boxes1, boxes2 = [], []
    for i in range(batch):  # crop geometry of real images
        img = cv2.imread(ds.get_data_info(i % len(ds))['img_path'])
        b1, b2 = crop.draw_boxes(img)
        boxes1.append(b1)
        boxes2.append(b2)
    b1, b2 = torch.tensor(boxes1), torch.tensor(boxes2)
    f1, f2 = torch.rand(batch) < 0.5, torch.rand(batch) < 0.5

    def once():
        for g in grains:
            grain_correspondences(b1, b2, f1, f2, g)

    for _ in range(5):
        once()
    start = time.perf_counter()
    for _ in range(repeats):
        once()
    per_sample = (time.perf_counter() - start) / repeats / batch * 1e6
    print(f'correspondences: {per_sample:.1f} us/sample for grains {tuple(grains)} '
          f'(batch {batch}, 1 thread)')
    return per_sample


def bench_step(cfg, ds, batch_size, threads, steps):
    from mmpretrain.registry import MODELS
    torch.set_num_threads(threads)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device).train()
    optim_cfg = cfg.optim_wrapper.copy()
    if device == 'cpu':  # mmengine's AMP wrapper needs an accelerator
        optim_cfg['type'] = optim_cfg.get('type', 'OptimWrapper').replace('Amp', '')
        optim_cfg.pop('loss_scale', None)
    optim = build_optim_wrapper(model, optim_cfg)
    MessageHub.get_current_instance().update_info('max_iters', 1000)
    batch = default_collate([ds[i % len(ds)] for i in range(batch_size)])

    def step():
        data = model.data_preprocessor(batch, training=True)
        with optim.optim_context(model):
            losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
        if device == 'cuda':
            torch.cuda.synchronize()

    step()  # warm-up
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    if device == 'cuda':
        peak = torch.cuda.max_memory_allocated() / 2**30
        mem = f'peak GPU memory {peak:.2f} GiB'
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        mem = f'peak process RSS {peak:.2f} GiB'
    print(f'train step: {np.mean(times):.2f} s mean, {np.min(times):.2f} s min over {steps} '
          f'steps (batch {batch_size}, {threads} threads, {device}, '
          f'{optim_cfg["type"]}); {mem}')
    return float(np.mean(times)), peak


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    ds = build_dataset(cfg, args)
    # Only multi-grain methods (MGC) have correspondences to time.
    model_cfg = cfg.get('model') or {}
    grains = (model_cfg.get('neck') or {}).get('grains')
    print(f'config: {args.config}; torch {torch.__version__}; cores {os.cpu_count()}')
    if 'pipeline' not in args.skip:
        bench_pipeline(ds, args.samples)
    if 'corr' not in args.skip and grains is not None:
        bench_corr(ds, args.corr_batch, args.corr_repeats, grains)
    if 'step' not in args.skip:
        if not model_cfg:
            raise SystemExit(f'{args.config} has no model: pass --skip step to time its '
                             'data pipeline only')
        bench_step(cfg, ds, args.batch_size, args.threads, args.steps)


if __name__ == '__main__':
    main()
