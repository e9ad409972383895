"""Config handling shared by ``tools/train.py`` and ``tools/test.py``."""
import os.path as osp
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.utils import digit_version

from mgc_mm.models.utils.strict_init import PRETRAINED_PLACEHOLDER

from .checkpoint_convert import MOMENTUM_PREFIX, ONLINE_PREFIX
from .config_check import check_override_types
from .work_dir import check_new_run, find_resume_checkpoint, is_complete_checkpoint

# --amp maps a plain optimizer wrapper to its mixed-precision twin.
AMP_WRAPPERS = {
    'OptimWrapper': 'AmpOptimWrapper',
    'PerParamClipOptimWrapper': 'PerParamClipAmpOptimWrapper',
}
# mmengine's AmpOptimWrapper ``loss_scale`` for bf16: a disabled GradScaler. bf16 has
# fp32's exponent range, so gradients do not underflow; mmengine 0.10 builds an active
# GradScaler for any dtype unless told so (an unscale pass and a host sync per step).
NO_LOSS_SCALING = dict(enabled=False)
# ``fused=True`` optimizers (AdamW, Adam, SGD) have CPU kernels from torch 2.4 on;
# before that they take CUDA tensors only.
CPU_FUSED_OPTIMIZERS = digit_version(torch.__version__) >= digit_version('2.4.0')


def check_cfg_options(cfg: Config, options: Optional[Dict[str, Any]], source: str) -> None:
    """Refuse ``--cfg-options`` keys that do not exist in the config.

    mmengine merges unknown keys silently, so a typo (``model.backbon.arch=...``,
    ``train_cfg.max_epoch=5``) would be ignored or fail late. Every intermediate
    key must exist; a new leaf is only accepted inside a dict that builds a
    registered object (it has a ``type``), where it becomes a constructor argument
    and a wrong name fails at build time with the class named.
    """
    tree = cfg.to_dict()
    for key in options or {}:
        if key in ('max_epochs', 'max_iters') and isinstance(tree.get('train_cfg'), dict):
            # A config variable: changing it after parsing changes nothing else.
            raise KeyError(f'--cfg-options key {key!r} only sets a variable of config '
                           f'{source}; set the loop length with train_cfg.{key}=...')
        node: Any = tree
        parts = key.split('.')
        for depth, part in enumerate(parts):
            here = '.'.join(parts[:depth + 1])
            if isinstance(node, (list, tuple)) and part.isdigit():
                if int(part) >= len(node):
                    raise KeyError(f'--cfg-options key {key!r}: index {here!r} is out of '
                                   f'range in config {source}')
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise KeyError(f'--cfg-options key {key!r}: {".".join(parts[:depth])!r} '
                               f'is not a dict in config {source}')
            if part not in node:
                leaf_of_object = depth == len(parts) - 1 and 'type' in node
                if not leaf_of_object:
                    raise KeyError(f'--cfg-options key {key!r}: {here!r} does not exist in '
                                   f'config {source}')
                break
            node = node[part]
    check_override_types(tree, options or {}, source)


def adapt_cfg_to_cpu(cfg: Config, launcher: str) -> None:
    """Make a GPU config run on CPU processes, also under DDP (gloo).

    Single-process runs need nothing: mmengine turns SyncBN into BN itself.
    Distributed runs use gloo and :class:`CPUDistributedDataParallel` (SyncBN -> BN,
    no device ids). mmengine's launcher calls ``torch.cuda.set_device``
    unconditionally, which a CUDA build of torch refuses on a machine without a
    GPU, so that call is made a no-op here. The optimizer is fitted to the device
    first, on GPU and CPU alike (:func:`adapt_optimizer_to_device`).
    """
    adapt_optimizer_to_device(cfg)
    if torch.cuda.is_available() or launcher == 'none':
        return
    cfg.setdefault('env_cfg', ConfigDict())
    cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict()
    if wrapper.get('type', 'MMDistributedDataParallel') != 'MMDistributedDataParallel':
        raise ValueError(f'cannot run model_wrapper_cfg type {wrapper["type"]!r} on CPU')
    wrapper['type'] = 'CPUDistributedDataParallel'
    cfg.model_wrapper_cfg = wrapper
    torch.cuda.set_device = lambda device: None


def cuda_bf16_supported() -> bool:
    """Whether the CUDA device computes in bfloat16 natively (Ampere and newer).

    Emulated bf16 (older GPUs, which torch counts as supported by default) is slower
    than fp16 there, so it does not count.
    """
    if not torch.cuda.is_available():
        return False
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # torch < 2.3: no emulation argument
        return bool(torch.cuda.is_bf16_supported())


def adapt_optimizer_to_device(cfg: Config) -> None:
    """Fit the optimizer (wrapper) of a GPU config to the device at hand.

    * ``fused=True`` optimizers are kept where they run: on CUDA, and on CPU from
      torch 2.4; older torch on CPU builds the default (foreach) implementation.
    * A bf16 mixed-precision wrapper on a GPU without native bf16 (before Ampere) is
      switched to float16 with dynamic loss scaling (fp16 needs it).
    """
    wrapper = cfg.get('optim_wrapper')
    if not isinstance(wrapper, dict):
        return
    optimizer = wrapper.get('optimizer')
    if (isinstance(optimizer, dict) and optimizer.get('fused')
            and not torch.cuda.is_available() and not CPU_FUSED_OPTIMIZERS):
        optimizer.pop('fused')
    if (torch.cuda.is_available() and wrapper.get('type') in AMP_WRAPPERS.values()
            and wrapper.get('dtype') in ('bfloat16', torch.bfloat16)
            and not cuda_bf16_supported()):
        wrapper.dtype = 'float16'
        if wrapper.get('loss_scale', 'dynamic') == NO_LOSS_SCALING:
            wrapper.loss_scale = 'dynamic'
        print_log('this GPU has no native bfloat16: mixed precision in float16 with '
                  'dynamic loss scaling', logger='current', level=30)


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mixed precision (``--amp``): bfloat16 without
    loss scaling where the GPU computes in bf16 natively, else float16 with dynamic
    loss scaling. A ``dtype`` or ``loss_scale`` the config sets is kept."""
    wrapper = cfg.optim_wrapper
    kind = wrapper.get('type', 'OptimWrapper')
    if kind in AMP_WRAPPERS.values():
        return
    if kind not in AMP_WRAPPERS:
        raise ValueError(f'--amp: no mixed-precision version of optim_wrapper type {kind!r}')
    wrapper.type = AMP_WRAPPERS[kind]
    wrapper.setdefault('dtype', 'bfloat16' if cuda_bf16_supported() else 'float16')
    wrapper.setdefault('loss_scale',
                       NO_LOSS_SCALING if wrapper.dtype == 'bfloat16' else 'dynamic')


# pixel_pipeline='device': CPU transforms -> their pixel-free counterparts.
_DEFERRED_STEPS = {
    'LoadImageFromFileSafe': lambda t: dict(t, decode=False),
    'LoadImageFromFile': lambda t: dict(type='LoadImageFromFileSafe', decode=False,
                                        backend_args=t.get('backend_args')),
    'CoupledRandomResizedCrop': lambda t: dict(t, defer_pixels=True),
    'MultiView': lambda t: dict(type='DeferredMultiView', transforms=t['transforms'],
                                num_views=t['num_views']),
    'MultiViewWithKeys': lambda t: dict(type='DeferredMultiViewWithKeys',
                                        transforms=t['transforms'], num_views=t['num_views'],
                                        keys=t.get('keys', ('weak_aug', ))),
    'MultiGrainCorrespondences': lambda t: t,
}


def _correspondences_on_device(step: dict, model: dict) -> bool:
    # MGC computes them itself, batched on the device, from the packed crop boxes and
    # flips with the same function (exact, boxes in original pixels) when the samples
    # carry none: only the per-sample torch calls (~1.5 ms a sample) leave the worker.
    return (model.get('type') == 'MGC' and not step.get('grain_cfgs')
            and step.get('view_size', 224) == model.get('view_size', 224)
            and set(model.get('neck', {}).get('grains', ())) <= set(step.get('grains', ())))
PIXEL_PIPELINES = ('cpu', 'device')


def apply_pixel_pipeline(cfg: Config, source: str = 'the config') -> None:
    """Switch a pretraining config to the device pixel pipeline (``pixel_pipeline``).

    ``pixel_pipeline='cpu'`` (the default) leaves the config as it is: dataloader
    workers decode and augment every view. ``'device'`` rewrites the same train
    pipeline, keeping every parameter: the workers read bytes and headers and draw
    boxes, flips and photometric parameters (``LoadImageFromFileSafe(decode=False)``,
    ``CoupledRandomResizedCrop(defer_pixels=True)``, ``MultiView`` ->
    ``DeferredMultiView``; MGC's correspondences move to the model, which computes
    them batched on the device from the same boxes), and the model's
    ``SelfSupDataPreprocessor`` becomes
    :class:`~mgc_mm.models.DevicePixelPreprocessor` with the same arguments, which
    decodes and renders the views on the training device. A transform without a
    device counterpart is refused here, by name, before anything is built.
    """
    mode = cfg.get('pixel_pipeline', 'cpu')
    if mode not in PIXEL_PIPELINES:
        raise ValueError(f'pixel_pipeline must be one of {PIXEL_PIPELINES}, got {mode!r} '
                         f'in {source}')
    if mode == 'cpu':
        return
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'), dict):
        dataset = dataset.dataset  # dataset wrappers (RepeatDataset, ...)
    pipeline = []
    for i, step in enumerate(dataset.pipeline):
        typ = step['type']
        if typ == 'PackInputs':
            from mgc_mm.models.data_preprocessors.device_pixel_preprocessor import \
                DEVICE_PIPELINE_KEYS
            keys = list(step.get('algorithm_keys', []))
            step = dict(step, algorithm_keys=keys + [k for k in DEVICE_PIPELINE_KEYS
                                                     if k not in keys])
        elif typ == 'MultiGrainCorrespondences' and _correspondences_on_device(step, cfg.model):
            continue
        elif typ in _DEFERRED_STEPS:
            step = _DEFERRED_STEPS[typ](dict(step))
        else:
            raise ValueError(f"pixel_pipeline='device': train pipeline step {i} ({typ}) of "
                             f'{source} has no device counterpart; use pixel_pipeline=cpu')
        pipeline.append(step)
    dataset.pipeline = pipeline
    pre = cfg.model.get('data_preprocessor') or dict(type='SelfSupDataPreprocessor')
    if pre.get('type') not in ('SelfSupDataPreprocessor', 'DevicePixelPreprocessor'):
        raise ValueError(f"pixel_pipeline='device': model.data_preprocessor type "
                         f"{pre.get('type')!r} of {source} is not SelfSupDataPreprocessor")
    cfg.model.data_preprocessor = dict(pre, type='DevicePixelPreprocessor')


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def load_config(path: str) -> Config:
    """``Config.fromfile`` with an error that names the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    return Config.fromfile(path)


# Where a backbone lives in an mgc_mm pretraining checkpoint.
PRETRAINED_PREFIXES = {'online': ONLINE_PREFIX, 'momentum': MOMENTUM_PREFIX}


def _pretrained_init_cfgs(node: Any, path: str):
    """``(path, init_cfg)`` of every ``Pretrained`` init_cfg in a model config."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f'{path}.{key}'
            if key == 'init_cfg':
                for i, c in enumerate(value if isinstance(value, (list, tuple)) else [value]):
                    if isinstance(c, dict) and c.get('type') == 'Pretrained':
                        yield (here if isinstance(value, dict) else f'{here}.{i}'), c
            else:
                yield from _pretrained_init_cfgs(value, here)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained_init_cfgs(value, f'{path}.{i}')


def set_pretrained(cfg: Config, checkpoint: Optional[str], branch: Optional[str],
                   source: str) -> None:
    """Point ``model.backbone.init_cfg`` at an mgc_mm checkpoint (``--pretrained``).

    Every other ``Pretrained`` init_cfg of the model whose checkpoint is the
    placeholder ``'${PRETRAINED}'`` gets the same checkpoint: the modules that a config
    loads from the pretraining checkpoint besides the backbone (MCL's full transfer:
    FPN and box-head convs; R50-C4: res5 in the RoI head). ``branch`` sets the
    backbone's prefix, and that of the others that load part of the backbone (same
    prefix); the momentum branch of other modules (``neck.``, ``region_head.``) is
    refused, since their momentum copies are laid out by each method.
    """
    if checkpoint is None and branch is None:
        return
    init_cfg = cfg.get('model', {}).get('backbone', {}).get('init_cfg')
    if not isinstance(init_cfg, dict) or init_cfg.get('type') != 'Pretrained':
        raise KeyError(f'--pretrained: config {source} has no '
                       "model.backbone.init_cfg of type 'Pretrained'")
    others = [(path, c) for path, c in _pretrained_init_cfgs(cfg.model, 'model')
              if path != 'model.backbone.init_cfg'
              and c.get('checkpoint') == PRETRAINED_PLACEHOLDER]
    old_prefix = init_cfg.get('prefix')
    if branch is not None and branch != 'online':
        foreign = [f'{path} (prefix {c.get("prefix")!r})' for path, c in others
                   if c.get('prefix') != old_prefix]
        if foreign:
            raise ValueError(f'--pretrained-branch {branch}: config {source} also loads '
                             f'{", ".join(foreign)} from the online modules of the '
                             'checkpoint; use a backbone-only config for the momentum branch')
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'--pretrained checkpoint {checkpoint!r} does not exist')
        init_cfg['checkpoint'] = checkpoint
        for _, other in others:
            other['checkpoint'] = checkpoint
    if branch is not None:
        init_cfg['prefix'] = PRETRAINED_PREFIXES[branch]
        for _, other in others:
            if other.get('prefix') == old_prefix:  # loads part of the backbone (res5)
                other['prefix'] = PRETRAINED_PREFIXES[branch]


def add_safety_hooks(cfg: Config) -> None:
    """Put :class:`SafeCheckpointHook` in place of mmengine's ``CheckpointHook`` and
    add :class:`EpochSeedHook` (exact resume) and :class:`ResumeGuardHook`
    (schedules follow the config's length on resume), whatever the config's method."""
    custom = list(cfg.get('custom_hooks') or [])
    for hook in list((cfg.get('default_hooks') or {}).values()) + custom:
        if isinstance(hook, dict) and hook.get('type') in ('CheckpointHook',
                                                           'mmengine.CheckpointHook'):
            hook['type'] = 'SafeCheckpointHook'
    have = {h.get('type') for h in custom if isinstance(h, dict)}
    cfg.custom_hooks = custom + [dict(type=t) for t in ('EpochSeedHook', 'ResumeGuardHook')
                                 if t not in have]


def _checkpoint_folders(cfg: Config) -> tuple:
    out_dir = ((cfg.get('default_hooks') or {}).get('checkpoint') or {}).get('out_dir')
    if out_dir is None:
        return ()
    return (osp.join(out_dir, osp.basename(osp.normpath(cfg.work_dir))), )


def prepare_work_dir(cfg: Config, resume: Optional[str], overwrite: bool) -> None:
    """Resolve ``--resume`` to a checkpoint, or refuse to train over another run.

    ``resume='auto'`` (``--resume`` without a path) takes the newest complete
    checkpoint of the work dir and stops if there is none; a path must be a complete
    checkpoint; without ``--resume`` the work dir must hold no checkpoints unless
    ``overwrite``. A config's own ``resume=True`` counts as ``--resume``.
    """
    if resume is None and cfg.get('resume') is True and not overwrite:
        resume = 'auto' if cfg.get('load_from') is None else cfg.load_from
    if resume is not None and overwrite:
        raise ValueError('--resume and --overwrite exclude each other')
    folders = _checkpoint_folders(cfg)
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, find_resume_checkpoint(cfg.work_dir, folders)
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint {resume!r} does not exist')
        if not is_complete_checkpoint(resume):
            raise ValueError(f'--resume checkpoint {resume!r} is incomplete (cut short) '
                             'or not a checkpoint')
        cfg.resume, cfg.load_from = True, resume
    else:
        cfg.resume = False
        if not overwrite:
            check_new_run(cfg.work_dir, folders)


def check_train_data(runner) -> None:
    """Build the train loop now and refuse an epoch without a single batch."""
    loader = runner.train_loop.dataloader
    if len(loader) > 0:
        return
    dataset = loader.dataset
    batch = loader.batch_size
    world = runner.world_size
    where = getattr(dataset, 'img_prefix', None) or getattr(dataset, 'data_root', '')
    raise ValueError(
        f'the training set has {len(dataset)} images ({where}) but one batch takes '
        f'{batch} per process x {world} process(es) and drop_last is on, so an epoch '
        'has no iteration: add images or lower train_dataloader.batch_size')
