import pytest
import torch
from mmengine.config import Config

from mgc_mm.utils import adapt_cfg_to_cpu, check_cfg_options, enable_amp, load_config
from tests.conftest import TINY_CONFIG


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
