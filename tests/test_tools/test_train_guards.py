"""What tools/train.py refuses before the first iteration, and how --resume picks."""
import glob
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
from mmpretrain.registry import DATASETS

from mgc_mm.utils import (NothingToResumeError, check_config_arguments,
                          find_resume_checkpoint, is_complete_checkpoint)
from tests.conftest import DEMO_IMAGES, REPO, TINY_CONFIG

TRAIN = osp.join(REPO, 'tools', 'train.py')
PAPER = osp.join(REPO, 'configs', 'mgc', 'mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')


def train_module():
    spec = importlib.util.spec_from_file_location('mgc_train_tool', TRAIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_cfg(*argv):
    tool = train_module()
    return tool.build_cfg(tool.parse_args([str(a) for a in argv]))


def run(cwd, *args):
    return subprocess.run([sys.executable, TRAIN, *map(str, args)], cwd=str(cwd),
                          env=dict(os.environ, OMP_NUM_THREADS='1'), capture_output=True,
                          text=True, timeout=600)


def fake_checkpoint(path, step):
    torch.save({'meta': {'epoch': step}, 'state_dict': {'w': torch.full((4, ), step)}}, path)
    return str(path)


# ---------------------------------------------------------------- resume and work dirs
def test_resume_picks_newest_complete_checkpoint(tmp_path):
    e1, e2 = fake_checkpoint(tmp_path / 'epoch_1.pth', 1), fake_checkpoint(tmp_path / 'epoch_2.pth', 2)
    # epoch_3 was cut short (a copy that stopped): never resumed from.
    whole = open(fake_checkpoint(tmp_path / 'epoch_3.pth', 3), 'rb').read()
    (tmp_path / 'epoch_3.pth').write_bytes(whole[:len(whole) // 2])
    assert not is_complete_checkpoint(str(tmp_path / 'epoch_3.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == e2  # no last_checkpoint
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_9.pth'))  # deleted file
    assert find_resume_checkpoint(str(tmp_path)) == e2
    (tmp_path / 'last_checkpoint').write_text(e1)  # stale: a newer one is complete
    assert find_resume_checkpoint(str(tmp_path)) == e2
    (tmp_path / 'last_checkpoint').write_text(e2)
    assert find_resume_checkpoint(str(tmp_path)) == e2
    assert (tmp_path / 'epoch_3.pth').stat().st_size == len(whole) // 2  # left in place
    os.remove(e1), os.remove(e2)
    with pytest.raises(NothingToResumeError, match='epoch_3.pth'):
        find_resume_checkpoint(str(tmp_path))


def test_resume_with_nothing_to_resume_stops(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    res = run(tmp_path, TINY_CONFIG, '--work-dir', work, '--resume')
    assert res.returncode != 0
    assert f'nothing to resume in {work}' in res.stderr
    assert 'Epoch(train)' not in res.stdout + res.stderr
    assert glob.glob(str(work / '*.pth')) == []


def test_new_run_refuses_another_runs_work_dir(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    ckpt = fake_checkpoint(work / 'epoch_4.pth', 4)
    before = open(ckpt, 'rb').read()
    res = run(tmp_path, TINY_CONFIG, '--work-dir', work)
    assert res.returncode != 0
    assert 'already holds checkpoints of another run (epoch_4.pth)' in res.stderr
    assert '--resume' in res.stderr and '--overwrite' in res.stderr
    assert open(ckpt, 'rb').read() == before
    cfg = build_cfg(TINY_CONFIG, '--work-dir', work, '--overwrite')
    assert cfg.resume is False and cfg.load_from is None
    cfg = build_cfg(TINY_CONFIG, '--work-dir', work, '--resume')
    assert cfg.resume is True and cfg.load_from == ckpt
    with pytest.raises(ValueError, match='exclude'):
        build_cfg(TINY_CONFIG, '--work-dir', work, '--resume', '--overwrite')


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_without_optimizer_state(tmp_path):
    work = tmp_path / 'work'
    res = run(tmp_path, TINY_CONFIG, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=1',
              'default_hooks.checkpoint.save_optimizer=False')
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'optimizer' not in torch.load(work / 'epoch_1.pth', weights_only=False)
    res = run(tmp_path, TINY_CONFIG, '--work-dir', work, '--resume')
    assert res.returncode != 0
    assert f'cannot resume from {work / "epoch_1.pth"}: it holds no optimizer state' in res.stderr
    assert 'Epoch(train)' not in res.stdout + res.stderr
    assert osp.isfile(work / 'epoch_1.pth')


# ---------------------------------------------------------------- config mistakes
@pytest.mark.parametrize('option, error', [
    # an argument that the object's class does not take
    ('default_hooks.checkpoint.max_keep_ckpt=1', TypeError),
    ('default_hooks.logger.intervl=5', TypeError),
    ('optim_wrapper.optimizer.weight_decy=0.1', TypeError),
    ('param_scheduler.1.eta_mn=0', TypeError),
    ('train_dataloader.dataset.extension=.jpg', TypeError),
    ('model.base_momentm=0.01', TypeError),
    # a value of the wrong kind
    ('optim_wrapper.optimizer.lr=1e-3x', ValueError),
    ('train_cfg.max_epochs=one', ValueError),
    ('default_hooks.checkpoint.save_last=maybe', ValueError),
])
def test_config_mistake_is_named(tmp_path, option, error):
    key = option.split('=')[0]
    with pytest.raises(error, match=key.replace('.', r'\.')):
        build_cfg(TINY_CONFIG, '--work-dir', tmp_path / 'w', '--cfg-options', option)


def test_typo_stops_the_run_in_seconds(tmp_path):
    res = run(tmp_path, TINY_CONFIG, '--work-dir', tmp_path / 'w', '--cfg-options',
              'default_hooks.checkpoint.max_keep_ckpt=1')
    assert res.returncode != 0
    assert "default_hooks.checkpoint.max_keep_ckpt: SafeCheckpointHook takes no argument" in res.stderr
    assert 'Epoch(train)' not in res.stdout + res.stderr


def every_config():
    return sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True))


@pytest.mark.parametrize('path', [p for p in every_config() if '_base_' not in p],
                         ids=lambda p: osp.relpath(p, REPO))
def test_every_config_passes_the_argument_check(path, tmp_path):
    """No false alarm on any shipped config, and each gets the safe rotation."""
    cfg = build_cfg(path, '--work-dir', tmp_path / 'w')
    check_config_arguments(cfg, path)
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
    assert [h['type'] for h in cfg.custom_hooks].count('EpochSeedHook') == 1


def test_check_sees_typos_in_the_config_file_itself(tmp_path):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.default_hooks.checkpoint['max_keep_ckpt'] = 1
    with pytest.raises(TypeError, match='max_keep_ckpt'):
        check_config_arguments(cfg, 'x.py')


def test_top_level_epoch_variable_is_refused(tmp_path):
    with pytest.raises(KeyError, match=r'train_cfg\.max_epochs'):
        build_cfg(TINY_CONFIG, '--work-dir', tmp_path / 'w', '--cfg-options', 'max_epochs=5')


# ---------------------------------------------------------------- data
def test_fewer_images_than_a_batch_is_explained(tmp_path):
    data = tmp_path / 'imgs'
    data.mkdir()
    for name in sorted(os.listdir(DEMO_IMAGES))[:3]:
        shutil.copy(osp.join(DEMO_IMAGES, name), data / name)
    res = run(tmp_path, TINY_CONFIG, '--work-dir', tmp_path / 'w', '--cfg-options',
              'train_dataloader.dataset.indices=None', f'train_dataloader.dataset.data_root={data}',
              'train_dataloader.dataset.data_prefix=')
    assert res.returncode != 0
    assert 'the training set has 3 images' in res.stderr and 'batch takes 4' in res.stderr
    assert 'epoch_length' not in res.stderr


def test_all_unreadable_names_the_files(tmp_path):
    for i in range(3):
        (tmp_path / f'bad{i}.jpg').write_bytes(b'\xff\xd8 not really a jpeg' * i)
    ds = DATASETS.build(dict(type='UnlabeledImageFolder', data_root=str(tmp_path),
                             pipeline=[dict(type='LoadImageFromFileSafe')]))
    with pytest.raises(RuntimeError, match=r'3 of the 3 files .* none could be read') as e:
        ds[0]
    assert all(f'bad{i}.jpg' in str(e.value) for i in range(3))
    # One good file among bad ones is found, not reported.
    shutil.copy(osp.join(DEMO_IMAGES, '000000000009.jpg'), tmp_path / 'good.jpg')
    ds = DATASETS.build(dict(type='UnlabeledImageFolder', data_root=str(tmp_path),
                             pipeline=[dict(type='LoadImageFromFileSafe')]))
    assert all(ds[i]['img_path'].endswith('good.jpg') for i in range(len(ds)))


# ---------------------------------------------------------------- schedules
def lr_curve(cfg, epoch_length=3):
    """lr per iteration of the config's schedulers, built the way the runner builds them."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    kinds = {'LinearLR': LinearLR, 'CosineAnnealingLR': CosineAnnealingLR}
    scheds = []
    for s in cfg.param_scheduler:
        kw = {k: v for k, v in s.items() if k not in ('type', 'convert_to_iter_based')}
        scheds.append(kinds[s['type']].build_iter_from_epoch(opt, epoch_length=epoch_length, **kw))
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs * epoch_length):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in scheds:
            s.step()
    return lrs


def test_schedule_follows_max_epochs_override(tmp_path):
    cfg = build_cfg(PAPER, '--work-dir', tmp_path / 'w', '--cfg-options', 'train_cfg.max_epochs=100')
    warm, cos = cfg.param_scheduler
    assert (warm.end, cos.begin, cos.end, cos.T_max) == (10, 10, 100, 90)
    lrs = lr_curve(cfg)
    # Base lr 1: one iteration before its end a cosine over 270 iterations is at
    # (1 - cos(pi / 270)) / 2 = 3.4e-5; over the config's 790 epochs it would still be
    # at 0.88 here.
    assert cos.eta_min <= lrs[-1] < 1e-4
    assert lrs[len(lrs) // 2] > 0.4
    # Without the override it still spans the config's 800 epochs.
    cfg = build_cfg(PAPER, '--work-dir', tmp_path / 'w')
    assert (cfg.param_scheduler[1].end, cfg.param_scheduler[1].T_max) == (800, 790)


def test_schedule_ending_off_the_loop_warns(tmp_path, capsys):
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance('guards_test', log_level='INFO')
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MMLogger, 'get_current_instance', classmethod(lambda cls: logger))
        build_cfg(PAPER, '--work-dir', tmp_path / 'w', '--cfg-options', 'train_cfg.max_epochs=5')
    out = capsys.readouterr()
    text = out.out + out.err
    assert 'param_scheduler.1 (CosineAnnealingLR)' in text and 'never runs' in text
    assert 'end at 800 epochs but the loop runs 5 epochs' in text
