"""DenseCL and MoCo v2 demo configs trained by tools/train.py on bundled COCO images:
a few iterations each, a checkpoint whose ``backbone.*`` is a plain mmpretrain
ResNet-50, DenseCL's dense-loss warm-up across ``--resume``, and 2-process CPU DDP
(shuffle-BN over gloo)."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmpretrain.models import ResNet

from tests.conftest import REPO

pytestmark = pytest.mark.slow
TRAIN = osp.join(REPO, 'tools', 'train.py')
DIST_TRAIN = osp.join(REPO, 'tools', 'dist_train.sh')
DEMO_ROOT = osp.join(REPO, 'demo', 'data', 'coco')
DENSECL = osp.join(REPO, 'configs', 'densecl', 'densecl_resnet50_1xb8-2e_coco-demo.py')
MOCOV2 = osp.join(REPO, 'configs', 'mocov2', 'mocov2_resnet50_1xb8-2e_coco-demo.py')
# 8 of the bundled images, batch 4: 2 iterations an epoch, ~3 s each on one CPU thread.
SMALL = ['train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=4',
         'train_dataloader.num_workers=0', f'train_dataloader.dataset.data_root={DEMO_ROOT}',
         'log_processor.window_size=1']  # each iteration's own losses in the log
LOSS_LINE = re.compile(r'Epoch\(train\) \[(\d+)\]\[(\d+)/\d+\].* loss: ([\d.]+)(.*)')


def train(cwd, config, work_dir, *args, options=(), launcher=None):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    if launcher is None:
        cmd = [sys.executable, TRAIN, config]
    else:  # 2 CPU processes through torchrun
        cmd = ['bash', DIST_TRAIN, config, '2']
        env['PORT'] = str(29500 + os.getpid() % 1000)
    cmd += ['--work-dir', str(work_dir), *args, '--cfg-options', *SMALL, *options]
    res = subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    return res


def losses(work_dir):
    """{(epoch, iter): (loss, {name: value})} of the newest run of the work dir."""
    runs = sorted(d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d)))
    with open(osp.join(work_dir, runs[-1], f'{runs[-1]}.log')) as f:
        log = f.read()
    out = {}
    for m in LOSS_LINE.finditer(log):
        parts = dict(re.findall(r'(loss_\w+): ([\d.]+)', m.group(4)))
        out[(int(m.group(1)), int(m.group(2)))] = (float(m.group(3)),
                                                   {k: float(v) for k, v in parts.items()})
    return out, log


def check_backbone(ckpt_path, iters):
    """``backbone.*`` is the online ResNet-50 exactly, and nothing else is under it."""
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == iters
    state = ckpt['state_dict']
    backbone = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    resnet = ResNet(depth=50)  # mmpretrain's, as the R50 benchmark configs build it
    assert set(backbone) == set(resnet.state_dict())
    resnet.load_state_dict(backbone, strict=True)
    # The key encoder is elsewhere (and differs: it moved 0.001 per step toward it).
    key = {k[len('encoder_k.module.0.'):]: v for k, v in state.items()
           if k.startswith('encoder_k.module.0.')}
    assert set(key) == set(backbone)
    assert not torch.equal(key['conv1.weight'], backbone['conv1.weight'])
    assert int(state['encoder_k.steps']) == iters
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    return state


def dense_hook_index(config):
    hooks = Config.fromfile(config).custom_hooks
    return [h['type'] for h in hooks].index('DenseCLHook')


def test_densecl_demo_trains_warms_up_and_resumes(tmp_path):
    work = tmp_path / 'work'
    # A queue longer than the run (the demo's 16 keys wrap after 4 steps): the pointer
    # then counts the keys enqueued, and the random initial keys dominate the negatives
    # in both phases, so the global term's size compares across them.
    warm = [f'custom_hooks.{dense_hook_index(DENSECL)}.start_iters=1', 'model.queue_len=1024']
    # From another cwd: every path is absolute.
    train(tmp_path, DENSECL, work, options=['train_cfg.max_epochs=1', *warm])
    log1, _ = losses(work)
    assert sorted(log1) == [(1, 1), (1, 2)]
    (total, parts), (total2, parts2) = log1[(1, 1)], log1[(1, 2)]
    # Iteration 1: dense weight 0 (DenseCLHook), the global loss at full weight.
    assert parts['loss_dense'] == 0 and parts['loss_single'] == total > 0
    # Iteration 2: 0.5 * global + 0.5 * dense (the global term halves).
    assert parts2['loss_dense'] > 0 and 0 < parts2['loss_single'] < 0.7 * total
    assert total2 == pytest.approx(parts2['loss_single'] + parts2['loss_dense'], abs=2e-4)
    state = check_backbone(work / 'epoch_1.pth', iters=2)
    assert {'queue', 'queue2', 'queue_ptr', 'queue2_ptr'} <= set(state)
    assert int(state['queue_ptr']) == int(state['queue2_ptr']) == 8  # 2 x 4 keys

    # --resume continues at iteration 3 with the dense loss on (the hook counts the
    # runner's restored iteration) and a longer loop.
    train(tmp_path, DENSECL, work, '--resume', options=['train_cfg.max_epochs=2', *warm])
    log2, text = losses(work)
    assert f'{work}/epoch_1.pth' in text  # what it resumed from
    assert sorted(log2) == [(2, 1), (2, 2)]
    assert all(p['loss_dense'] > 0 and p['loss_single'] < 0.7 * total for _, p in log2.values())
    state = check_backbone(work / 'epoch_2.pth', iters=4)
    assert int(state['queue_ptr']) == 16


def test_mocov2_demo_trains_and_writes_a_resnet50_backbone(tmp_path):
    work = tmp_path / 'work'
    train(tmp_path, MOCOV2, work, options=['train_cfg.max_epochs=1'])
    log, _ = losses(work)
    assert sorted(log) == [(1, 1), (1, 2)]
    assert all(total > 0 for total, _ in log.values())
    state = check_backbone(work / 'epoch_1.pth', iters=2)
    assert int(state['queue_ptr']) == 8


def test_densecl_two_process_cpu_ddp(tmp_path):
    """Shuffle-BN (batch_shuffle_ddp) and the queues' all_gather over gloo; the dense
    loss on from iteration 2 (find_unused_parameters stays False)."""
    work = tmp_path / 'work'
    warm = f'custom_hooks.{dense_hook_index(DENSECL)}.start_iters=1'
    train(tmp_path, DENSECL, work, launcher='pytorch',
          options=['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', warm])
    log, text = losses(work)
    assert 'Distributed training: True' in text
    assert sorted(log) == [(1, 1), (1, 2)]  # 8 images / (2 ranks x 2)
    assert log[(1, 2)][1]['loss_dense'] > 0
    state = check_backbone(work / 'epoch_1.pth', iters=2)
    assert int(state['queue_ptr']) == 8  # keys of both ranks enqueued
