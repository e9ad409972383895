import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

import mgc_mm.utils.config as config_utils
from mgc_mm.utils import (adapt_cfg_to_cpu, check_cfg_options, check_config_arguments,
                          enable_amp, load_config)
from mgc_mm.utils.config import adapt_optimizer_to_device
from tests.conftest import REPO, TINY_CONFIG


def test_check_cfg_options():
    cfg = Config.fromfile(TINY_CONFIG)
    check_cfg_options(cfg, {'train_cfg.max_epochs': 3, 'model.backbone.arch.num_layers': 1,
                            'model.backbone.init_cfg': None,  # new kwarg of a typed dict
                            'param_scheduler.0.begin': 0}, 'x.py')
    for bad in ('model.backbon.arch', 'nonexistent', 'param_scheduler.9.end',
                'env_cfg.cudnn_benchmrk'):
        with pytest.raises(KeyError, match=bad.replace('.', r'\.')):
            check_cfg_options(cfg, {bad: 1}, 'x.py')


def test_enable_amp_keeps_per_param_clipping():
    cfg = Config.fromfile(TINY_CONFIG)
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'PerParamClipAmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.clip_grad.max_norm == 3.0
    cfg.optim_wrapper.type = 'SomethingElse'
    with pytest.raises(ValueError, match='SomethingElse'):
        enable_amp(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU adaptation only applies without GPU')
def test_adapt_cfg_to_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'set_device', torch.cuda.set_device)
    cfg = Config.fromfile(TINY_CONFIG)
    adapt_cfg_to_cpu(cfg, 'none')
    assert 'model_wrapper_cfg' not in cfg
    adapt_cfg_to_cpu(cfg, 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.type == 'CPUDistributedDataParallel'
    torch.cuda.set_device(0)  # made a no-op: must not raise without a GPU


def test_load_config_names_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.py'):
        load_config(str(tmp_path / 'missing.py'))


def _bf16_gpu(monkeypatch, native: bool):
    """A GPU whose bf16 is native (Ampere and newer) or emulated only (older)."""
    MMLogger.get_current_instance()  # made now: a new logger would look for the fake GPU
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported',
                        lambda including_emulation=True: native or including_emulation)


def test_enable_amp_picks_bf16_where_the_gpu_computes_in_it(monkeypatch):
    _bf16_gpu(monkeypatch, native=True)
    cfg = Config.fromfile(TINY_CONFIG)
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'PerParamClipAmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == dict(enabled=False)  # bf16: no loss scaling
    # Emulated bf16 (pre-Ampere) does not count: fp16 with dynamic loss scaling.
    _bf16_gpu(monkeypatch, native=False)
    cfg = Config.fromfile(TINY_CONFIG)
    enable_amp(cfg)
    assert (cfg.optim_wrapper.dtype, cfg.optim_wrapper.loss_scale) == ('float16', 'dynamic')
    # No GPU at all: fp16 as before, whatever torch says of bf16.
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda including_emulation=True: True)
    cfg = Config.fromfile(TINY_CONFIG)
    enable_amp(cfg)
    assert (cfg.optim_wrapper.dtype, cfg.optim_wrapper.loss_scale) == ('float16', 'dynamic')
    # A dtype the config sets is kept.
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.optim_wrapper.dtype = 'bfloat16'
    enable_amp(cfg)
    assert (cfg.optim_wrapper.dtype, cfg.optim_wrapper.loss_scale) == ('bfloat16',
                                                                       dict(enabled=False))


def test_adapt_optimizer_to_device(monkeypatch):
    gpu_cfg = osp.join(REPO, 'configs', 'mgc', 'mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')
    # CPU with a torch whose fused optimizers are CUDA only (< 2.4): fused is dropped.
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(config_utils, 'CPU_FUSED_OPTIMIZERS', False)
    cfg = Config.fromfile(gpu_cfg)
    adapt_optimizer_to_device(cfg)
    assert 'fused' not in cfg.optim_wrapper.optimizer
    assert cfg.optim_wrapper.dtype == 'bfloat16'  # the CPU refuses the AMP wrapper anyway
    cfg = Config.fromfile(gpu_cfg)
    adapt_cfg_to_cpu(cfg, 'none')  # tools/train.py's call does it too
    assert 'fused' not in cfg.optim_wrapper.optimizer
    # CPU, torch >= 2.4: fused AdamW has CPU kernels, kept.
    monkeypatch.setattr(config_utils, 'CPU_FUSED_OPTIMIZERS', True)
    cfg = Config.fromfile(gpu_cfg)
    adapt_optimizer_to_device(cfg)
    assert cfg.optim_wrapper.optimizer.fused is True
    # CUDA: fused kept whatever the CPU kernels; bf16 kept where native ...
    monkeypatch.setattr(config_utils, 'CPU_FUSED_OPTIMIZERS', False)
    _bf16_gpu(monkeypatch, native=True)
    cfg = Config.fromfile(gpu_cfg)
    adapt_optimizer_to_device(cfg)
    assert cfg.optim_wrapper.optimizer.fused is True
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == dict(enabled=False)
    # ... and fp16 with dynamic loss scaling before Ampere.
    _bf16_gpu(monkeypatch, native=False)
    cfg = Config.fromfile(gpu_cfg)
    adapt_optimizer_to_device(cfg)
    assert cfg.optim_wrapper.optimizer.fused is True
    assert (cfg.optim_wrapper.dtype, cfg.optim_wrapper.loss_scale) == ('float16', 'dynamic')


PRETRAIN_CONFIGS = sorted(
    f for method in ('mgc', 'mocov2', 'mocov3', 'mugs', 'mcl', 'densecl', 'dsc')
    for f in glob.glob(osp.join(REPO, 'configs', method, '*.py')))


def test_gpu_pretraining_configs_use_bf16_fused_adamw_and_compile_flag():
    amp = adamw = 0
    for path in PRETRAIN_CONFIGS:
        name = osp.basename(path)
        cfg = Config.fromfile(path)
        # torch.compile switch (mmengine's Runner reads cfg.compile), off by default and
        # settable from the command line.
        assert cfg.get('compile') is False, name
        check_cfg_options(cfg, {'compile': True}, name)
        if name.endswith('_coco-demo.py'):
            continue
        wrapper = cfg.optim_wrapper
        if 'Amp' in wrapper.type:
            amp += 1
            assert wrapper.dtype == 'bfloat16', name
            assert wrapper.loss_scale == dict(enabled=False), name
        if wrapper.optimizer.type == 'AdamW':
            adamw += 1
            assert wrapper.optimizer.fused is True, name
        check_config_arguments(cfg, name)  # dtype, loss_scale, fused: taken by their classes
    # At least MGC (6), MoCo v3 (2), Mugs (4) AdamW + AMP and MCL (2) LARS + AMP.
    assert amp >= 14 and adamw >= 12, (amp, adamw)


# The fused CPU step only where this torch has the kernels (2.4+; setup installs 2.14).
@pytest.mark.parametrize('cpu_fused', [False] + [True] * config_utils.CPU_FUSED_OPTIMIZERS)
def test_cpu_adamw_step_of_a_demo_config_after_adaptation(monkeypatch, cpu_fused):
    from mmengine.optim import build_optim_wrapper
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(config_utils, 'CPU_FUSED_OPTIMIZERS', cpu_fused)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'mgc',
                                   'mgc_vit-small-p16_1xb8-3e_coco-demo.py'))
    cfg.optim_wrapper.optimizer.fused = True  # as the GPU configs have it
    adapt_optimizer_to_device(cfg)
    assert ('fused' in cfg.optim_wrapper.optimizer) == cpu_fused
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert type(wrapper).__name__ == 'PerParamClipOptimWrapper'
    assert type(wrapper.optimizer).__name__ == 'AdamW'
    assert bool(wrapper.optimizer.param_groups[0]['fused']) == cpu_fused
    before = model.weight.detach().clone()
    wrapper.update_params(model(torch.randn(3, 4)).pow(2).sum())
    assert torch.isfinite(model.weight).all() and not torch.equal(model.weight, before)
