"""End-to-end runs of tools/train.py on the bundled real COCO images."""
import copy
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.hooks import Hook

from tests.conftest import DEMO_IMAGES, REPO, TINY_CONFIG

pytestmark = pytest.mark.slow
TRAIN = osp.join(REPO, 'tools', 'train.py')


def load_train_module():
    spec = importlib.util.spec_from_file_location('mgc_train_tool', TRAIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(args, env=None, timeout=600):
    env = dict(os.environ, **(env or {}))
    env.setdefault('OMP_NUM_THREADS', '1')
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def last_log(work_dir):
    runs = sorted(d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d)))
    with open(osp.join(work_dir, runs[-1], f'{runs[-1]}.log')) as f:
        return f.read()


class StateAtStart(Hook):
    """Records what the runner holds when training (re)starts."""

    def before_train(self, runner):
        self.iter, self.epoch = runner.iter, runner.epoch
        self.model = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
        self.optim = copy.deepcopy(runner.optim_wrapper.state_dict())
        self.sched = copy.deepcopy([s.state_dict() for s in runner.param_schedulers])


def test_train_then_resume_restores_exact_state(tmp_path):
    work = str(tmp_path / 'work')
    first = run([TRAIN, TINY_CONFIG, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=1'])
    assert first.returncode == 0, first.stderr[-3000:]
    ckpt_path = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt_path)
    log = last_log(work)
    for key in ('loss_g16', 'loss_g32', 'loss_g112', 'lr:', 'eta:', 'data_time:', 'ema_momentum'):
        assert key in log, key

    # Resume in-process (auto: latest checkpoint of the work dir) and look at the state.
    train = load_train_module()
    cfg = train.build_cfg(train.parse_args([TINY_CONFIG, '--work-dir', work, '--resume']))
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    probe = StateAtStart()
    runner.register_hook(probe, priority='LOWEST')
    runner.train()

    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)
    assert (probe.iter, probe.epoch) == (ckpt['meta']['iter'], ckpt['meta']['epoch']) == (2, 1)
    assert set(probe.model) == set(ckpt['state_dict'])
    assert any(k.startswith('momentum_encoder.') for k in probe.model)
    for k, v in ckpt['state_dict'].items():
        assert torch.equal(probe.model[k], v), k
    saved_opt = ckpt['optimizer']
    assert probe.optim['param_groups'] == saved_opt['param_groups']
    for pid, st in saved_opt['state'].items():
        for name, val in st.items():
            assert torch.equal(probe.optim['state'][pid][name], val), (pid, name)
    assert probe.sched == ckpt['param_schedulers']
    # ... and it went on to the end from there.
    final = torch.load(osp.join(work, 'epoch_2.pth'), map_location='cpu', weights_only=False)
    assert final['meta']['iter'] == 4 and final['meta']['epoch'] == 2
    assert int(final['state_dict']['momentum_encoder.steps']) == 4


def test_corrupt_images_are_skipped_and_run_goes_on(tmp_path):
    data = tmp_path / 'imgs' / 'nested'
    data.mkdir(parents=True)
    for name in sorted(os.listdir(DEMO_IMAGES))[:6]:
        shutil.copy(osp.join(DEMO_IMAGES, name), data / name)
    real = open(osp.join(DEMO_IMAGES, sorted(os.listdir(DEMO_IMAGES))[0]), 'rb').read()
    (data / 'broken_truncated.jpg').write_bytes(real[:5000])
    (data / 'broken_garbage.png').write_bytes(b'\x89PNG not really')
    work = str(tmp_path / 'work')
    res = run([TRAIN, TINY_CONFIG, '--work-dir', work, '--cfg-options',
               'train_cfg.max_epochs=1', 'train_dataloader.batch_size=8',
               'train_dataloader.dataset.indices=None',
               f'train_dataloader.dataset.data_root={tmp_path / "imgs"}',
               'train_dataloader.dataset.data_prefix='])
    assert res.returncode == 0, res.stderr[-3000:]
    log = last_log(work)
    assert 'skipping unreadable image' in log
    assert ('broken_truncated.jpg' in log) or ('broken_garbage.png' in log)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


def test_missing_data_folder_stops_at_start_naming_it(tmp_path):
    missing = tmp_path / 'no_such_images'
    res = run([TRAIN, TINY_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
               f'train_dataloader.dataset.data_root={missing}'])
    assert res.returncode != 0
    assert str(missing) in res.stderr and 'does not exist' in res.stderr
    assert 'Epoch(train)' not in res.stdout + res.stderr


def test_unknown_config_key_stops_naming_it(tmp_path):
    res = run([TRAIN, TINY_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
               'train_cfg.max_epoch=1'])
    # train_cfg builds a loop: the loop class refuses the unknown argument by name.
    assert res.returncode != 0 and "'max_epoch'" in res.stderr
    res = run([TRAIN, TINY_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
               'env_cfg.dist_cfg.backnd=gloo'])
    assert res.returncode != 0 and 'env_cfg.dist_cfg.backnd' in res.stderr
    res = run([TRAIN, osp.join(REPO, 'configs', 'mgc', 'nope.py')])
    assert res.returncode != 0 and 'nope.py' in res.stderr


def test_two_process_cpu_ddp_run(tmp_path):
    work = str(tmp_path / 'work')
    env = dict(PORT=str(29500 + os.getpid() % 1000))
    res = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), TINY_CONFIG, '2', '--work-dir', work,
         '--cfg-options', 'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2'],
        cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1', **env), capture_output=True,
        text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    log = last_log(work)
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert 'Epoch(train) [1][2/2]' in log  # 8 images / (2 ranks x 2) per epoch
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 2
    assert not any('module.' == k[:7] for k in ckpt['state_dict'])


class ScheduleAtStart(Hook):
    """Records the schedulers' lengths once training (re)starts."""

    def before_train_epoch(self, runner):
        if not hasattr(self, 'lengths'):
            self.lengths = [(s.begin, s.end, getattr(s, 'T_max', None))
                            for s in runner.param_schedulers]

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs = getattr(self, 'lrs', {})
        self.lrs[runner.iter] = runner.optim_wrapper.get_lr()['lr'][0]


def test_resume_with_longer_loop_follows_the_new_length(tmp_path, tiny_mgc_checkpoint):
    """The checkpoint's cosine spans 2 epochs of 2 iterations; resumed with
    max_epochs=3 it must span the new loop, not the saved length."""
    saved = torch.load(tiny_mgc_checkpoint, map_location='cpu', weights_only=False)
    assert [(s['begin'], s['end']) for s in saved['param_schedulers']] == [(0, 2), (2, 4)]
    train = load_train_module()
    cfg = train.build_cfg(train.parse_args([
        TINY_CONFIG, '--work-dir', str(tmp_path / 'w'), '--resume', tiny_mgc_checkpoint,
        '--cfg-options', 'train_cfg.max_epochs=3']))
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    probe = ScheduleAtStart()
    runner.register_hook(probe, priority='LOWEST')
    runner.train()
    assert probe.lengths == [(0, 2, None), (2, 6, 4)]
    assert runner.iter == 6
    # Half-way through the new cosine (iteration 4 of 2..6) the lr is half-way between
    # the base lr and the floor; with the saved length it would be at the floor already.
    base, floor = 1e-3 * 8 / 256, 1e-6
    assert probe.lrs[4] == pytest.approx((base + floor) / 2, rel=1e-3)


def test_compile_flag_trains_the_same_steps(tmp_path):
    # `compile` (mmengine compiles train_step); the eager backend runs dynamo's tracing
    # and graph breaks (NumPy fields of the data samples) without inductor's minutes of
    # C++ builds on CPU, and must give the uncompiled run's losses.
    cfg = tmp_path / 'tiny_compile.py'
    cfg.write_text(f"_base_ = ['{TINY_CONFIG}']\ncompile = dict(_delete_=True, backend='eager')\n")
    logs = []
    for config, work in ((TINY_CONFIG, tmp_path / 'plain'), (str(cfg), tmp_path / 'compiled')):
        res = run([TRAIN, config, '--work-dir', str(work), '--cfg-options',
                   'train_cfg.max_epochs=1'])
        assert res.returncode == 0, res.stderr[-3000:]
        logs.append(last_log(str(work)))
    assert 'Model has been "compiled"' in logs[1] and 'compiled' not in logs[0].split('Config:')[0]
    losses = [[float(x.split()[0]) for x in log.split(' loss: ')[1:]] for log in logs]
    assert len(losses[0]) == 2 and losses[0] == pytest.approx(losses[1], abs=2e-4)
