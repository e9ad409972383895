"""Mugs model: losses and multipliers, view checks, teacher without drop path,
gradients, EMA, checkpoint layout."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.models import VisionTransformer

from mgc_mm.models.selfsup.mugs import vit_tokens
from mgc_mm.registry import MODELS
from tests.data.mugs_tiny import fake_batch, tiny_mugs_cfg


@pytest.fixture(autouse=True)
def _max_iters():
    MessageHub.get_current_instance().update_info('max_iters', 10)


def build(**kw):
    torch.manual_seed(0)
    return MODELS.build(tiny_mugs_cfg(**kw))


def total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def test_spec_total_with_default_weights_is_the_mean():
    model = build()
    parts = model.combine_losses(dict(ids=torch.tensor(1.), lgds=torch.tensor(2.),
                                      gds=torch.tensor(3.)))
    # what mmengine optimises: the sum of the `loss*` entries (spec §6: 2.0)
    loss, _ = model.parse_losses(dict(parts, teacher_temp=torch.tensor(0.04)))
    assert loss.item() == pytest.approx(2.0)
    real = build(loss_weights=dict(ids=1., lgds=0., gds=0.5))
    parts = real.combine_losses(dict(ids=torch.tensor(1.), lgds=torch.tensor(2.),
                                     gds=torch.tensor(3.)))
    assert {k: v.item() for k, v in parts.items()} == dict(loss_ids=1., loss_lgds=0.,
                                                           loss_gds=1.5)
    with pytest.raises(KeyError, match='loss_weights'):
        build(loss_weights=dict(instance=1.))


def test_loss_keys_buffers_and_any_number_of_local_crops():
    for num_local in (0, 3):
        model = build()
        views, samples = fake_batch(batch=3, num_local=num_local)
        losses = model.loss(views, samples)
        assert set(losses) == {'loss_ids', 'loss_lgds', 'loss_gds', 'teacher_temp',
                               'ema_momentum'}
        assert all(torch.isfinite(v) for v in losses.values())
        assert losses['teacher_temp'].item() == pytest.approx(0.07)
        # 2 teacher crops x 3 images queued / in the teacher memory; the student memory
        # takes the weak student globals only (fake_batch: 3 of 6)
        assert int(model.ids_head.queue.ptr) == int(model.lgds_head.queue.ptr) == 6
        assert int(model.lgds_head.teacher_memory.ptr) == 6
        assert int(model.lgds_head.student_memory.ptr) == 3
        assert torch.count_nonzero(model.gds_head.loss_module.center) > 0


def test_view_checks():
    model = build()
    views, samples = fake_batch(batch=2, num_local=2)
    with pytest.raises(ValueError, match='>= 4 views'):
        model.loss(views[:3], samples)
    with pytest.raises(ValueError, match='global views differ'):
        model.loss([views[0], views[1], views[2], views[4]] + views[4:], samples)
    with pytest.raises(ValueError, match='local views differ'):
        model.loss(views + [torch.randn(2, 3, 32, 32)], samples)
    with pytest.raises(ValueError, match='flags per sample'):
        model.loss(views[:5], samples)
    bare = [type(s)() for s in samples]
    with pytest.raises(ValueError, match='weak_aug'):
        model.loss(views, bare)


def test_tokens_match_the_backbone_and_teacher_has_no_drop_path():
    model = build(drop_path_rate=0.9)  # the last of the 2 blocks drops with p 0.9
    x = torch.randn(8, 3, 32, 32)
    model.backbone.out_type = 'raw'
    model.eval()
    assert torch.equal(model.backbone.ln1(vit_tokens(model.backbone, x)), model.backbone(x)[0])
    model.train()
    student = [vit_tokens(model.backbone, x) for _ in range(2)]
    assert not torch.equal(*student)  # drop path active in the student (seeded)
    teacher = model.momentum_encoder.module.backbone
    assert model.momentum_encoder.training
    out = [vit_tokens(teacher, x) for _ in range(2)]
    teacher.eval()
    assert torch.equal(out[0], out[1]) and torch.equal(out[0], vit_tokens(teacher, x))
    assert all(getattr(m, 'drop_prob', 0.) == 0. for m in model.momentum_encoder.modules())


def test_gradients_reach_the_student_only_and_the_teacher_follows_by_ema():
    model = build()
    views, samples = fake_batch(batch=2, num_local=2)
    total(model.loss(views, samples)).backward()
    student = dict(model.named_parameters())
    teacher = {k: v for k, v in student.items() if k.startswith('momentum_encoder.')}
    for k, p in student.items():
        if k in teacher or k.endswith('original0'):  # teacher, fixed weight-norm g
            assert not p.requires_grad and p.grad is None, k
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, k
    # teacher = backbone + the three projectors (no predictors), copied on step 1
    sd = model.state_dict()
    prefixes = {k.split('.')[2] for k in teacher}
    assert prefixes == {'backbone', 'ids_projector', 'lgds_projector', 'gds_projector'}
    for k in ('backbone.layers.1.attn.qkv.weight', 'ids_head.projector.0.weight',
              'lgds_head.projector.relation_block.attn.qkv.weight',
              'gds_head.projector.last_layer.parametrizations.weight.original1'):
        t = 'momentum_encoder.module.' + k.replace('_head.projector', '_projector')
        assert torch.equal(sd[k], sd[t]), k
    # step 2: m = 1 - 0.004 (cos(pi / 10) + 1) / 2, p_t <- m p_t + (1 - m) p_s
    name = 'backbone.patch_embed.projection.weight'
    before_t = sd['momentum_encoder.module.' + name].clone()
    with torch.no_grad():
        student[name].add_(1.)
    losses = model.loss(views, samples)
    m = losses['ema_momentum'].item()
    assert m == pytest.approx(1 - 0.004 * (1 + torch.cos(torch.tensor(torch.pi / 10))) / 2)
    expect = m * before_t + (1 - m) * student[name].detach()
    # float32 lerp of values of order 1: ulps
    torch.testing.assert_close(model.state_dict()['momentum_encoder.module.' + name], expect,
                               rtol=1e-6, atol=1e-6)


def test_checkpoint_layout_and_backbone_loads_strictly_into_vit():
    model = build()
    sd = model.state_dict()
    assert {k.split('.')[0] for k in sd} == {'backbone', 'ids_head', 'lgds_head', 'gds_head',
                                             'momentum_encoder'}
    for k in ('ids_head.queue.queue', 'ids_head.queue.ptr', 'lgds_head.queue.queue',
              'lgds_head.student_memory.queue', 'lgds_head.teacher_memory.ptr',
              'gds_head.loss_module.center', 'momentum_encoder.steps'):
        assert k in sd, k
    vit = VisionTransformer(arch=dict(embed_dims=64, num_layers=2, num_heads=4,
                                      feedforward_channels=128), img_size=32, patch_size=16)
    for prefix in ('backbone.', 'momentum_encoder.module.backbone.'):
        part = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        vit.load_state_dict(part, strict=True)
