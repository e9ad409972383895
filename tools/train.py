"""Train any OpenMMLab config: mgc_mm pretraining, mmdet, mmseg or mmpose fine-tuning.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT] | --overwrite] [--amp]
        [--auto-scale-lr] [--save-init] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

Before the first iteration it checks every argument of the config against the class
it builds, that an epoch has at least one batch, and that the work dir is not another
run's (``--resume`` continues it, ``--overwrite`` starts anew there). Schedulers that
ended with the loop follow ``--cfg-options train_cfg.max_epochs=N``.

Multi-GPU / multi-node: ``tools/dist_train.sh`` (torchrun) or ``tools/slurm_train.sh``.
"""
import argparse
import copy
import os
import os.path as osp
import sys

import torch

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # noqa: E402
import mgc_mm  # noqa: E402,F401  (registers modules, checkpoint I/O)
from mgc_mm.utils import (PRETRAINED_PREFIXES, adapt_cfg_to_cpu,  # noqa: E402
                          apply_pixel_pipeline,
                          check_cfg_options, check_config_arguments, check_train_data,
                          default_work_dir, enable_amp, load_config, prepare_work_dir,
                          set_pretrained, sync_schedules, add_safety_hooks)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model from an OpenMMLab config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or, without a path, from the newest complete '
        'checkpoint in the work dir (an error if there is none)')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='start a new run in a work dir that holds checkpoints of another run '
        '(refused without this flag)')
    parser.add_argument('--amp', action='store_true', help='mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr linearly with the actual global batch size')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. train_cfg.max_epochs=2 (keys must exist)')
    parser.add_argument(
        '--pretrained', metavar='CKPT',
        help='fine-tuning: pretraining checkpoint (full or extracted backbone) for '
        "model.backbone.init_cfg and every Pretrained init_cfg holding '${PRETRAINED}' "
        '(R50 full transfer: FPN and box-head convs too)')
    parser.add_argument(
        '--pretrained-branch', choices=list(PRETRAINED_PREFIXES), default=None,
        help='fine-tuning: load the online (default) or the momentum backbone')
    parser.add_argument(
        '--save-init', action='store_true',
        help='also save the weights the run starts from as WORK_DIR/init.pth (the exact '
        'random-init baseline of a learning check: dense_probe.py WORK_DIR/init.pth)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_cfg(args):
    cfg = load_config(args.config)
    original = copy.deepcopy(cfg)
    check_cfg_options(cfg, args.cfg_options, args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    sync_schedules(cfg, original, args.config)
    apply_pixel_pipeline(cfg, args.config)
    set_pretrained(cfg, args.pretrained, args.pretrained_branch, args.config)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError(f'--auto-scale-lr: config {args.config} has no auto_scale_lr')
        cfg.auto_scale_lr.enable = True
    add_safety_hooks(cfg)
    if args.save_init:
        cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='InitCheckpointHook')]
    prepare_work_dir(cfg, args.resume, args.overwrite)
    adapt_cfg_to_cpu(cfg, args.launcher)
    check_config_arguments(cfg, args.config, args.cfg_options)
    if cfg.get('compile'):
        # The data samples carry NumPy fields (crop boxes, flips, image bytes) that
        # mmengine's BaseDataElement.to visits inside the compiled train_step: let
        # dynamo hand them to Python (graph breaks) instead of failing to trace them.
        torch._dynamo.config.trace_numpy = False
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    check_train_data(runner)
    runner.train()


if __name__ == '__main__':
    main()
