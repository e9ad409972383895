"""Real faults during a save (a SIGKILL, a file-size limit) in a child training process:
the last good checkpoint survives, and ``--resume`` continues exactly."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch

from mgc_mm.utils import is_complete_checkpoint
from tests.conftest import REPO

pytestmark = pytest.mark.slow
TRAIN = osp.join(REPO, 'tools', 'train.py')
FAULTS = osp.join(REPO, 'tests', 'data', 'configs', 'mgc_vit-tiny_faults.py')


def train(cwd, *args):
    # Run from a folder that is not the repository: nothing may rely on the cwd.
    return subprocess.run([sys.executable, TRAIN, FAULTS, *args], cwd=str(cwd),
                          env=dict(os.environ, OMP_NUM_THREADS='1'), capture_output=True,
                          text=True, timeout=600)


def state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    """The same run without a fault: what a resumed run must reproduce."""
    work = tmp_path_factory.mktemp('reference') / 'work'
    res = train(work.parent, '--work-dir', str(work), '--cfg-options',
                'custom_hooks.0.at_epoch=99')
    assert res.returncode == 0, res.stderr[-3000:]
    return state(work / 'epoch_2.pth')


@pytest.mark.parametrize('fault', ['kill', 'fsize'])
def test_failed_save_keeps_last_checkpoint_and_resume_is_exact(tmp_path, fault, uninterrupted):
    work = tmp_path / 'work'
    res = train(tmp_path, '--work-dir', str(work), '--cfg-options',
                f'custom_hooks.0.fault={fault}')
    new, old = str(work / 'epoch_2.pth'), str(work / 'epoch_1.pth')
    if fault == 'kill':
        assert res.returncode == -signal.SIGKILL, res.stderr[-3000:]
        # The kill left the half-written temporary file behind.
        assert len(glob.glob(str(work / '.epoch_2.pth.*.tmp'))) == 1
    else:
        assert res.returncode != 0
        assert f'cannot write {new}: File too large' in res.stderr, res.stderr[-3000:]
        assert glob.glob(str(work / '.*.tmp')) == []
    # max_keep_ckpts=1: the old checkpoint is still there, whole, and named.
    assert not osp.exists(new)
    assert is_complete_checkpoint(old)
    assert (work / 'last_checkpoint').read_text() == old

    res = train(tmp_path, '--work-dir', str(work), '--resume', '--cfg-options',
                'custom_hooks.0.at_epoch=99')
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert f'resuming from {old}' in out
    if fault == 'kill':
        assert 'left by a save that did not finish' in out
    assert glob.glob(str(work / '.*.tmp')) == []
    assert sorted(p for p in os.listdir(work) if p.endswith('.pth')) == ['epoch_2.pth']
    assert (work / 'last_checkpoint').read_text() == new
    # Exact: epoch 2 after the resume is the uninterrupted run's epoch 2, tensor for
    # tensor (same process count, threads, seeds and data order: the same computation).
    got = state(new)
    assert set(got) == set(uninterrupted)
    for k, v in uninterrupted.items():
        assert torch.equal(got[k], v), k
