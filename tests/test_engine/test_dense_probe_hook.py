"""DenseProbeHook in a real (tiny) MGC pretraining run built in-process."""
import json
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mgc_mm.engine.hooks import DenseProbeHook
from tests.conftest import REPO, TINY_CONFIG

DATA = osp.join(REPO, 'demo', 'data', 'coco')
LOGGED = ('linear_mIoU', 'retrieval_mIoU', 'cross_view_top1', 'cross_view_top5')


def test_hook_logs_dense_probe_scalars(tmp_path):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_epochs = 1  # 8 images, batch 4: two iterations
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='DenseProbeHook', data_root=DATA, reduce_zero_label=True, batch_size=8,
             probe_kwargs=dict(linear_cfg=dict(epochs=3)))]
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, DenseProbeHook))
    runner.train()
    assert runner.iter == 2

    # Message hub scalars, the visualizer's scalars.json and the log line.
    values = {k: runner.message_hub.get_scalar(f'dense_probe/{k}').current() for k in LOGGED}
    assert all(0 <= v <= 1 for v in values.values()), values
    with open(osp.join(runner.log_dir, 'vis_data', 'scalars.json')) as f:
        rows = [json.loads(line) for line in f]
    probe_rows = [r for r in rows if 'dense_probe/retrieval_mIoU' in r]
    assert len(probe_rows) == 1 and probe_rows[0]['step'] == 2
    assert probe_rows[0]['dense_probe/linear_mIoU'] == pytest.approx(values['linear_mIoU'])
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    assert 'dense probe: 24 train and 8 val images' in log
    assert 'dense probe (online backbone, epoch 1, 24 train / 8 val images): ' \
           f'linear_mIoU: {values["linear_mIoU"]:.4f}' in log

    # The probe leaves the model's mode and the global random state as it found them.
    model = runner.model
    assert model.backbone.training
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    figures = hook._probe(runner, 'check')
    assert model.backbone.training
    assert torch.equal(states[0], torch.get_rng_state())
    assert (states[1] == np.random.get_state()[1]).all() and states[2] == random.getstate()
    # Same weights, same figures: the probe is deterministic.
    assert figures['retrieval_mIoU'] == values['retrieval_mIoU']

    # Branch selection: the momentum (target) backbone of the unwrapped model.
    target = DenseProbeHook(DATA, branch='momentum')
    assert target.backbone(runner) is model.momentum_encoder.module.backbone
    assert hook.backbone(runner) is model.backbone


def test_hook_checks_its_folder_at_start(tmp_path):
    hook = DenseProbeHook(str(tmp_path), img_dir='nope')
    with pytest.raises(FileNotFoundError, match='nope'):
        hook.before_train(None)
    with pytest.raises(ValueError, match='measurements'):
        DenseProbeHook(DATA, measurements=('segm', ))
