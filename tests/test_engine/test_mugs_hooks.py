"""Mugs hooks (teacher temperature, last-layer freeze) and the Mugs optimiser config."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import HOOKS, PARAM_SCHEDULERS

from mgc_mm.engine.hooks.teacher_temp_hook import teacher_temperature
from mgc_mm.registry import MODELS
from tests.conftest import REPO
from tests.data.mugs_tiny import fake_batch, tiny_mugs_cfg

DEMO = osp.join(REPO, 'configs', 'mugs', 'mugs_vit-small-p16_1xb8-3e_coco-demo.py')
LAST = 'gds_head.projector.last_layer.parametrizations.weight.original1'


def tiny_model():
    MessageHub.get_current_instance().update_info('max_iters', 10)
    torch.manual_seed(0)
    return MODELS.build(tiny_mugs_cfg())


def test_teacher_temperature_schedule_is_dinos_linspace():
    ref = np.concatenate([np.linspace(0.04, 0.07, 30), np.full(20, 0.07)])
    got = [teacher_temperature(e, 0.04, 0.07, 30) for e in range(50)]
    np.testing.assert_allclose(got, ref, rtol=1e-12)  # same formula, float64
    assert teacher_temperature(0, 0.04, 0.07, 1) == 0.04
    assert teacher_temperature(1, 0.04, 0.07, 1) == teacher_temperature(5, 0.04, 0.07, 0) == 0.07


def test_teacher_temperature_hook_sets_the_head_of_a_plain_model():
    model = tiny_model()
    hook = HOOKS.build(dict(type='MugsTeacherTempHook', warmup_temp=0.04, temp=0.07,
                            warmup_epochs=3))
    for epoch, temp in [(0, 0.04), (1, 0.055), (2, 0.07), (7, 0.07)]:
        hook.before_train_epoch(SimpleNamespace(model=model, epoch=epoch))
        assert model.gds_head.teacher_temp == pytest.approx(temp)
    with pytest.raises(AttributeError, match='teacher_temp'):
        hook.before_train_epoch(SimpleNamespace(model=torch.nn.Linear(1, 1), epoch=0))


def test_last_layer_frozen_in_epoch_0_and_trained_after():
    cfg = Config.fromfile(DEMO)
    model = tiny_model()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    runner = SimpleNamespace(model=model, optim_wrapper=wrapper, epoch=0)
    hook = HOOKS.build(dict(type='FreezeLastLayerHook', freeze_epochs=1))
    hook.before_train(runner)
    views, samples = fake_batch(batch=2, num_local=1)

    def step():
        params = dict(model.named_parameters())
        before = {k: p.detach().clone() for k, p in params.items()}
        losses = model.loss(views, samples)
        wrapper.update_params(sum(v for k, v in losses.items() if k.startswith('loss')))
        return {k: not torch.equal(before[k], p) for k, p in params.items()}

    moved = step()
    assert not moved[LAST] and moved['backbone.layers.0.attn.qkv.weight']
    state = wrapper.optimizer.state
    assert dict(model.named_parameters())[LAST] not in state  # skipped: no AdamW state
    moved = step()  # still epoch 0
    assert not moved[LAST]
    runner.epoch = 1
    assert step()[LAST]
    hook.after_train(runner)
    assert not hook._handles


def test_demo_optimiser_groups():
    cfg = Config.fromfile(DEMO)
    model = tiny_model()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr = cfg.optim_wrapper.optimizer.lr
    names = {id(p): n for n, p in model.named_parameters()}
    seen = 0
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            name = names[id(p)]
            if name.startswith('momentum_encoder.') or not p.requires_grad:
                continue
            seen += 1
            # no decay on biases and 1-D parameters (spec §4), decay elsewhere
            assert (group['weight_decay'] == 0) == (p.dim() == 1), name
            expect = lr * 0.2 if name.startswith('backbone.patch_embed') else lr
            assert group['lr'] == pytest.approx(expect), name
    assert seen == sum(1 for n, p in model.named_parameters()
                       if p.requires_grad and not n.startswith('momentum_encoder.'))
    # weight decay cosine 0.04 -> 0.1 (eta_min_ratio 2.5), zero-decay groups stay 0
    sched = PARAM_SCHEDULERS.build(dict(type='CosineAnnealingWeightDecay', eta_min_ratio=2.5,
                                        T_max=10, by_epoch=False, begin=0, end=10),
                                   default_args=dict(optimizer=wrapper))
    for step in range(1, 11):
        sched.step()
        wds = {g['weight_decay'] for g in wrapper.optimizer.param_groups}
        k = min(step, 9)
        expect = 0.1 + (0.04 - 0.1) * (1 + np.cos(np.pi * k / 10)) / 2
        # chained cosine steps in float64: ~1e-16 relative drift per step
        assert min(wds) == 0 and max(wds) == pytest.approx(expect, rel=1e-9)
    # mmengine schedulers update while last_step < end: the last step runs at k = 9
    assert max(wds) > 0.098


@pytest.mark.parametrize('name,batch,base_lr,arch,dpr,epochs', [
    ('mugs_vit-small-p16_16xb64-amp-coslr-800e_in1k.py', 1024, 8e-4, 'deit-small', 0.1, 800),
    ('mugs_vit-base-p16_16xb64-amp-coslr-400e_in1k.py', 1024, 8e-4, 'b', 0.1, 400),
    ('mugs_vit-large-p16_16xb64-amp-coslr-250e_in1k.py', 1024, 1.5e-3, 'l', 0.3, 250),
    ('mugs_vit-small-p16_8xb64-amp-coslr-800e_coco.py', 512, 8e-4, 'deit-small', 0.1, 800),
    ('mugs_vit-small-p16_1xb8-3e_coco-demo.py', 8, 8e-4, 'deit-small', 0.1, 3),
])
def test_configs(name, batch, base_lr, arch, dpr, epochs):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'mugs', name))
    n_gpu, per_gpu = [int(x) for x in name.split('_')[2].split('-')[0].split('xb')]
    assert n_gpu * per_gpu == batch == cfg.auto_scale_lr.base_batch_size
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(base_lr * batch / 256)
    assert cfg.optim_wrapper.optimizer.betas == (0.9, 0.999)
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.04
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=3.0)
    assert cfg.optim_wrapper.type.startswith('PerParamClip')
    assert ('Amp' in cfg.optim_wrapper.type) == ('amp' in name)
    assert cfg.model.backbone.arch == arch and cfg.model.backbone.drop_path_rate == dpr
    assert cfg.train_cfg.max_epochs == epochs
    wd = [s for s in cfg.param_scheduler if s.type == 'CosineAnnealingWeightDecay'][0]
    assert wd.eta_min_ratio * 0.04 == pytest.approx(0.1) and wd.end == epochs
    cos = [s for s in cfg.param_scheduler if s.type == 'CosineAnnealingLR'][0]
    assert cos.eta_min == 1e-6 and cos.end == epochs
    hooks = [h.type for h in cfg.custom_hooks]
    assert {'MugsTeacherTempHook', 'FreezeLastLayerHook', 'EpochSeedHook'} <= set(hooks)
