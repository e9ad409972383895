"""Mugs end to end through tools/train.py: the demo config (tiny backbone, 4 images,
batch 2) trains with the real 14-crop pipeline and both hooks, writes checkpoints whose
`backbone.*` loads strictly into mmpretrain's VisionTransformer, and resumes exactly."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mgc_mm.registry import MODELS
from tests.conftest import REPO

pytestmark = pytest.mark.slow
TRAIN = osp.join(REPO, 'tools', 'train.py')
TINY = osp.join(REPO, 'tests', 'data', 'configs', 'mugs_vit-tiny_demo.py')
SHRINK = ['train_dataloader.dataset.indices=4', 'train_dataloader.batch_size=2',
          'train_dataloader.num_workers=0']


def train(cwd, work, *args, options=()):
    # From a folder that is not the repository: nothing may rely on the cwd.
    res = subprocess.run([sys.executable, TRAIN, TINY, '--work-dir', str(work), *args,
                          '--cfg-options', *SHRINK, *options], cwd=str(cwd),
                         env=dict(os.environ, OMP_NUM_THREADS='1'), capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout + res.stderr


def state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    work = tmp_path_factory.mktemp('mugs') / 'work'
    log = train(work.parent, work)
    return work, log


def test_demo_trains_logs_and_writes_a_vit_backbone(uninterrupted):
    work, log = uninterrupted
    lines = re.findall(r'Epoch\(train\) \[(\d)\]\[(\d)/2\].*', log)
    assert [(e, i) for e, i in lines] == [('1', '1'), ('1', '2'), ('2', '1'), ('2', '2')]
    for key in ('loss_ids', 'loss_lgds', 'loss_gds', 'teacher_temp', 'ema_momentum'):
        assert key in log
    temps = re.findall(r'teacher_temp: ([0-9.]+)', log)
    assert temps == ['0.0400', '0.0400', '0.0700', '0.0700']  # warm-up over 2 epochs
    ep1, ep2 = state(work / 'epoch_1.pth'), state(work / 'epoch_2.pth')
    cfg = Config.fromfile(TINY)
    vit = MODELS.build(cfg.model.backbone)
    for prefix in ('backbone.', 'momentum_encoder.module.backbone.'):
        vit.load_state_dict({k[len(prefix):]: v for k, v in ep2.items()
                             if k.startswith(prefix)}, strict=True)
    assert not torch.equal(ep2['backbone.patch_embed.projection.weight'],
                           ep2['momentum_encoder.module.backbone.patch_embed.projection.weight'])
    # The position embedding starts from the sin-cos table and is learned (SinCosInitViT).
    assert not torch.equal(ep2['backbone.pos_embed'], ep1['backbone.pos_embed'])
    # queues: 2 steps x 2 teacher crops x 2 images per epoch
    assert int(ep1['ids_head.queue.ptr']) == 8 and int(ep2['ids_head.queue.ptr']) == 16
    # GDS prototypes frozen in epoch 1: the student's never moved, so the teacher's EMA
    # of it equals it (up to float32 rounding of m t + (1 - m) s with t = s); trained
    # in epoch 2, the student's move away from the teacher's
    v = 'gds_head.projector.last_layer.parametrizations.weight.original1'
    tv = 'momentum_encoder.module.gds_projector.last_layer.parametrizations.weight.original1'
    torch.testing.assert_close(ep1[v], ep1[tv], rtol=1e-6, atol=1e-7)
    assert not torch.allclose(ep2[v], ep1[v], rtol=1e-4, atol=1e-6)


def test_resume_is_exact(uninterrupted, tmp_path):
    ref_work, _ = uninterrupted
    work = tmp_path / 'work'
    work.mkdir()
    shutil.copy(ref_work / 'epoch_1.pth', work / 'epoch_1.pth')
    log = train(tmp_path, work, '--resume', str(work / 'epoch_1.pth'))
    assert 'Epoch(train) [2][2/2]' in log and 'Epoch(train) [1]' not in log
    got, ref = state(work / 'epoch_2.pth'), state(ref_work / 'epoch_2.pth')
    assert set(got) == set(ref)
    # Same process count, threads, seeds and data order: the same computation, so
    # every tensor (weights, EMA, queues, memories, centre) is bit-equal.
    for k, v in ref.items():
        assert torch.equal(got[k], v), k


def test_save_init_holds_the_weights_the_run_started_from(tmp_path):
    # One iteration (2 images, batch 2). The teacher's first EMA update copies the
    # student before the optimizer step, so epoch_1's teacher is the initial student:
    # an independent record of the weights that init.pth must hold.
    work = tmp_path / 'work'
    log = train(tmp_path, work, '--save-init',
                options=['train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=2'])
    assert 'saved the initial weights' in log
    init, ep1 = state(work / 'init.pth'), state(work / 'epoch_1.pth')
    assert set(init) == set(ep1)
    student, teacher = 'backbone.', 'momentum_encoder.module.backbone.'
    names = [k for k in init if k.startswith(student)]
    assert len(names) > 10
    for k in names:
        assert torch.equal(init[k], ep1[teacher + k[len(student):]]), k
    # The teacher was copied when the model was built, before init_weights filled the
    # position embedding: it is not the start of the run (its first update is).
    assert not init['momentum_encoder.module.backbone.pos_embed'].any()
    # ... and not the trained weights
    assert not torch.equal(init['backbone.layers.0.attn.qkv.weight'],
                           ep1['backbone.layers.0.attn.qkv.weight'])
    ckpt = torch.load(work / 'init.pth', map_location='cpu', weights_only=False)
    assert 'optimizer' not in ckpt and 'cfg' in ckpt['meta']
