"""KNNMonitorHook in a real (tiny) MGC pretraining run built in-process."""
import json
import os.path as osp
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mgc_mm.engine.hooks import KNNMonitorHook
from mgc_mm.evaluation import KNNEval, knn_splits
from tests.conftest import REPO, TINY_CONFIG

DATA = osp.join(REPO, 'demo', 'data', 'coco_cls')


def test_hook_logs_knn_accuracy(tmp_path):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_epochs = 1  # 8 images, batch 4: two iterations
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='KNNMonitorHook', data_root=DATA, input_size=64, eval_before_train=True)]
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, KNNMonitorHook))
    runner.train()
    assert runner.iter == 2

    # Message hub scalars, the visualizer's scalars.json (before training and after the
    # epoch) and the log lines.
    top1 = runner.message_hub.get_scalar('knn/top1').current()
    top5 = runner.message_hub.get_scalar('knn/top5').current()
    assert 0 <= top1 <= top5 <= 1
    with open(osp.join(runner.log_dir, 'vis_data', 'scalars.json')) as f:
        rows = [json.loads(line) for line in f if 'knn/top1' in line]
    assert [r['step'] for r in rows] == [0, 2]
    assert rows[1]['knn/top1'] == pytest.approx(top1)
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    assert 'kNN monitor: 80 train and 33 val images of 8 classes' in log
    assert ('kNN (online backbone, epoch 1, k=20, 80 train / 33 val images): '
            f'top1: {top1:.4f}, top5: {top5:.4f}') in log
    # a share of the 33 val images
    assert round(top1 * 33) == pytest.approx(top1 * 33, abs=1e-9)

    # The hook leaves the model's mode, out_type and the global random state as it
    # found them, and measures what KNNEval measures on the same backbone.
    model = runner.model
    assert model.backbone.training and model.backbone.out_type == 'featmap'
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    figures = hook._probe(runner, 'check')
    assert model.backbone.training and model.backbone.out_type == 'featmap'
    assert torch.equal(states[0], torch.get_rng_state())
    assert (states[1] == np.random.get_state()[1]).all() and states[2] == random.getstate()
    assert figures['top1'] == top1
    train, val, classes = knn_splits(DATA)
    direct = KNNEval(train, val, num_classes=8, input_size=64, progress=False).run(
        model.backbone)
    assert direct['top1'] == top1 and direct['top5'] == top5

    # With a wrapper (DataParallel is one of mmengine's MODEL_WRAPPERS): the backbone
    # of the wrapped model, online or momentum.
    wrapped = SimpleNamespace(model=torch.nn.DataParallel(model))
    assert hook.backbone(wrapped) is model.backbone
    target = KNNMonitorHook(DATA, branch='momentum')
    assert target.backbone(wrapped) is model.momentum_encoder.module.backbone


def test_hook_checks_its_folder_and_arguments_at_start(tmp_path):
    hook = KNNMonitorHook(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"'{tmp_path}/train' does not exist"):
        hook.before_train(None)
    with pytest.raises(ValueError, match='pool must be one of'):
        KNNMonitorHook(DATA, pool='max')
    with pytest.raises(ValueError, match='interval must be >= 1'):
        KNNMonitorHook(DATA, interval=0)
    with pytest.raises(ValueError, match='branch must be'):
        KNNMonitorHook(DATA, branch='teacher')
