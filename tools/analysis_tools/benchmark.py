"""Speed and memory figures of a pretraining config (MGC, DenseCL, MoCo v2, MCL...).

    python tools/analysis_tools/benchmark.py CONFIG [--pipeline cpu|device]
        [--data-root DIR] [--samples 200] [--corr-batch 64] [--batch-size 8]
        [--aug-batch 32] [--threads 2] [--steps 3] [--peak-tflops T]

Prints:
  * correspondence time per sample for all grains, batched, single-threaded;
  * with ``--pipeline device``: the device augmentation (decode + crops + photometric
    ops of :class:`DevicePixelPreprocessor`) in ms per batch of ``--aug-batch`` on the
    current device;
  * training step time (forward of online + target, backward, optimizer step) and
    peak memory at the given batch size and thread count; the FLOPs of a step
    (``torch.utils.flop_counter``); on CUDA training images/s and MFU against the
    device's dense bf16 peak;
  * last, the data pipeline samples/s of one dataloader worker (single-threaded):
    ``--pipeline cpu`` decodes, crops, augments and packs every view; ``--pipeline
    device`` (``pixel_pipeline='device'``) reads bytes and headers, draws boxes, flips
    and photometric parameters and packs them. The last line reads
    ``pipeline: N samples/s per worker``.
"""
import argparse
import contextlib
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
    p.add_argument('--pipeline', choices=['cpu', 'device'], default=None,
                   help="pixel pipeline to time (default: the config's pixel_pipeline)")
    p.add_argument('--aug-batch', type=int, default=32,
                   help='batch of the timed device augmentation (--pipeline device)')
    p.add_argument('--peak-tflops', type=float, default=None,
                   help='dense bf16 peak of the GPU for MFU (default: known devices)')
    p.add_argument('--skip', nargs='*', default=[],
                   choices=['pipeline', 'corr', 'aug', 'step'])
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
    return rate


# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) of the datasheets.
BF16_PEAK_TFLOPS = {'H200': 989.0, 'H100': 989.0, 'A100': 312.0, 'L40S': 362.0,
                    'A10': 125.0, 'V100': 125.0}


def device_peak_tflops(name: str):
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)


def bench_device_aug(cfg, ds, batch, repeats=3):
    """ms per batch of DevicePixelPreprocessor.render on the current device."""
    from mmpretrain.registry import MODELS
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    pre = MODELS.build(cfg.model.data_preprocessor).to(device)
    samples = default_collate([ds[i % len(ds)] for i in range(batch)])['data_samples']

    def once():
        pre.render(samples)
        if device == 'cuda':
            torch.cuda.synchronize()

    once()
    start = time.perf_counter()
    for _ in range(repeats):
        once()
    ms = (time.perf_counter() - start) / repeats * 1e3
    where = torch.cuda.get_device_name() if device == 'cuda' else \
        f'cpu, {torch.get_num_threads()} threads'
    print(f'device augmentation: {ms:.1f} ms per batch of {batch} ({where})')
    return ms


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


def bench_step(cfg, ds, batch_size, threads, steps, peak_tflops=None):
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
        optim_cfg.pop('dtype', None)
    optim = build_optim_wrapper(model, optim_cfg)
    MessageHub.get_current_instance().update_info('max_iters', 1000)
    batch = default_collate([ds[i % len(ds)] for i in range(batch_size)])

    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)

    def step(count=False):
        # The step includes the data preprocessor (with --pipeline device: decode and
        # augmentation); the FLOPs are the model's only (forward, backward, EMA).
        data = model.data_preprocessor(batch, training=True)
        with counter if count else contextlib.nullcontext():
            with optim.optim_context(model):
                losses = model(**data, mode='loss')
            loss, _ = model.parse_losses(losses)
            optim.update_params(loss)
        if device == 'cuda':
            torch.cuda.synchronize()

    step(count=True)  # also the warm-up step
    flops = counter.get_total_flops()
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
    mean = float(np.mean(times))
    print(f'train step: {mean:.2f} s mean, {np.min(times):.2f} s min over {steps} '
          f'steps (batch {batch_size}, {threads} threads, {device}, '
          f'{optim_cfg["type"]}); {mem}')
    line = (f'train step FLOPs: {flops / batch_size / 1e9:.1f} GFLOP per image '
            '(torch.utils.flop_counter: the model\'s forward + backward)')
    if device == 'cuda':
        name = torch.cuda.get_device_name()
        peak_t = peak_tflops if peak_tflops is not None else device_peak_tflops(name)
        line += f'; {batch_size / mean:.1f} images/s on {name}'
        if peak_t:
            line += f', MFU {flops / mean / (peak_t * 1e12) * 100:.1f} % of {peak_t:g} TFLOP/s'
    print(line)
    return mean, peak


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mgc_mm.utils import apply_pixel_pipeline
    if args.pipeline is not None:
        cfg.pixel_pipeline = args.pipeline
    mode = cfg.get('pixel_pipeline', 'cpu')
    if mode == 'device' and not cfg.get('model'):
        raise SystemExit(f'{args.config} has no model (its data preprocessor renders the '
                         'views): time a full config with --pipeline device')
    apply_pixel_pipeline(cfg, args.config)
    ds = build_dataset(cfg, args)
    # Only multi-grain methods (MGC) have correspondences to time.
    model_cfg = cfg.get('model') or {}
    grains = (model_cfg.get('neck') or {}).get('grains')
    print(f'config: {args.config}; pixel pipeline {mode}; torch {torch.__version__}; '
          f'cores {os.cpu_count()}')
    if 'corr' not in args.skip and grains is not None:
        bench_corr(ds, args.corr_batch, args.corr_repeats, grains)
    if mode == 'device' and 'aug' not in args.skip:
        torch.set_num_threads(args.threads)
        bench_device_aug(cfg, ds, args.aug_batch)
    if 'step' not in args.skip:
        if not model_cfg:
            raise SystemExit(f'{args.config} has no model: pass --skip step to time its '
                             'data pipeline only')
        bench_step(cfg, ds, args.batch_size, args.threads, args.steps, args.peak_tflops)
    if 'pipeline' not in args.skip:
        # Last, so that the figure the issue asks for is the last line.
        rate = bench_pipeline(ds, args.samples)
        print(f'pipeline: {rate:.1f} samples/s per worker (1 thread, {args.samples} samples, '
              f'{len(ds)} images, pixel pipeline {mode})')


if __name__ == '__main__':
    main()
