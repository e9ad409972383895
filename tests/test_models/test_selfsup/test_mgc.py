import copy
from math import cos, pi

import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mgc_mm.models.utils import grain_correspondences
from tests.conftest import tiny_mgc_cfg

GRAINS = (16, 32, 112)


def make_batch(boxes1, boxes2, flips1, flips2, packed=True, seed=0):
    """Random views plus data samples built from the given crop geometry."""
    g = torch.Generator().manual_seed(seed)
    n = len(boxes1)
    views = [torch.randint(0, 256, (n, 3, 224, 224), generator=g).float() for _ in range(2)]
    samples = []
    for i in range(n):
        s = DataSample()
        s.set_field(torch.tensor([boxes1[i], boxes2[i]]), 'crop_boxes')
        s.set_field(torch.tensor([flips1[i], flips2[i]]), 'crop_flips')
        if packed:
            corr = {}
            for gr in GRAINS:
                out = grain_correspondences(torch.tensor([boxes1[i]]), torch.tensor([boxes2[i]]),
                                            torch.tensor([flips1[i]]), torch.tensor([flips2[i]]),
                                            gr)
                corr[gr] = {k: v[0] for k, v in out._asdict().items()}
            s.set_field(corr, 'correspondences')
        samples.append(s)
    return views, samples


BOXES1 = [(0, 0, 224, 224), (10, 20, 300, 200), (50, 40, 200, 260), (0, 0, 400, 300)]
BOXES2 = [(0, 0, 224, 224), (60, 50, 250, 220), (80, 10, 180, 240), (100, 50, 300, 250)]
FLIPS1 = [False, True, False, True]
FLIPS2 = [False, False, True, True]


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = MODELS.build(tiny_mgc_cfg())
    m.init_weights()
    MessageHub.get_current_instance().update_info('max_iters', 100)
    return m


def total_loss(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def test_loss_terms_gradients_and_target(model):
    views, samples = make_batch(BOXES1, BOXES2, FLIPS1, FLIPS2)
    losses = model.loss(views, samples)
    assert set(losses) == {'loss_g16', 'loss_g32', 'loss_g112', 'ema_momentum'}
    for k in ('loss_g16', 'loss_g32', 'loss_g112'):
        assert losses[k].ndim == 0 and torch.isfinite(losses[k]) and losses[k] > 0
    total_loss(losses).backward()
    online = [n for n, p in model.named_parameters()
              if p.requires_grad and not n.startswith('momentum_encoder')]
    assert any(n.startswith('backbone.layers') for n in online)
    assert any(n.startswith('neck.projectors.112') for n in online)
    assert any(n.startswith('head.predictors.16') for n in online)
    params = dict(model.named_parameters())
    for n in online:
        assert params[n].grad is not None and params[n].grad.abs().sum() > 0, n
    for n, p in model.momentum_encoder.named_parameters():
        assert not p.requires_grad and p.grad is None, n
    # The position embedding is the fixed sin-cos one.
    assert not model.backbone.pos_embed.requires_grad


def test_target_starts_equal_and_follows_momentum_rule(model):
    views, samples = make_batch(BOXES1, BOXES2, FLIPS1, FLIPS2)
    model.loss(views, samples)  # step 0: exact copy
    target = dict(model.momentum_encoder.module.named_parameters())
    online = dict(model._online_encoder().named_parameters())
    assert set(target) == set(online)
    for n in online:
        assert torch.equal(target[n], online[n]), n
    before = {n: p.detach().clone() for n, p in target.items()}
    with torch.no_grad():  # stand-in for an optimizer step
        for p in model._online_encoder().parameters():
            p.add_(torch.randn_like(p) * 0.01)
    losses = model.loss(views, samples)  # step 1
    m = 1 - 0.004 * (cos(pi * 1 / 100) + 1) / 2
    assert losses['ema_momentum'].item() == pytest.approx(m, rel=1e-6)
    for n, p in online.items():
        torch.testing.assert_close(target[n], m * before[n] + (1 - m) * p.detach())
    assert m == pytest.approx(0.996, abs=1e-5)


def test_invalid_slots_change_nothing(model):
    # Sample 0 has identical boxes: 6 valid slots of 10 at g16, 6 of 10 at g32.
    views, samples = make_batch(BOXES1, BOXES2, FLIPS1, FLIPS2)
    assert not samples[0].correspondences[16]['valid'].all()
    model.train()
    # Every loss() call moves the EMA target and the BN running statistics, so a
    # second call on the same model is a different computation (and float32 EMA
    # updates are not bit-exact). Two identical copies run the same computation on
    # the same inputs and thread count, which is deterministic on CPU: compare the
    # clean and the tampered batch exactly.
    twin, twin2 = copy.deepcopy(model), copy.deepcopy(model)
    ref = {k: v.item() for k, v in model.loss(views, samples).items()}
    tampered = copy.deepcopy(samples)
    for s in tampered:
        for c in s.correspondences.values():
            bad = ~c['valid']
            c['idx1'][bad] = 77 % c['idx1'].max().clamp(min=1)
            c['idx2'][bad] = 5
            c['weight'][bad] = 0.3
    got = {k: v.item() for k, v in twin.loss(views, tampered).items()}
    for k in ('loss_g16', 'loss_g32', 'loss_g112'):
        assert got[k] == ref[k], k
    # The tampering itself is visible: a batch whose invalid slots were marked valid
    # gives other losses, so the equality above is not vacuous.
    marked = copy.deepcopy(tampered)
    for s in marked:
        for c in s.correspondences.values():
            c['valid'][:] = True
    other = twin2.loss(views, marked)
    assert other['loss_g16'].item() != ref['loss_g16']


def test_correspondences_from_boxes_on_device_equal_packed(model):
    views, packed = make_batch(BOXES1, BOXES2, FLIPS1, FLIPS2, packed=True)
    _, unpacked = make_batch(BOXES1, BOXES2, FLIPS1, FLIPS2, packed=False)
    a = model.correspondences(packed, torch.device('cpu'))
    b = model.correspondences(unpacked, torch.device('cpu'))
    for g in GRAINS:
        for x, y in zip(a[g], b[g]):
            assert torch.equal(x, y)
    with pytest.raises(KeyError, match='crop_boxes'):
        model.correspondences([DataSample()], torch.device('cpu'))


def test_iou_weighted_reduction_differs_from_mean():
    views, samples = make_batch(BOXES1, BOXES2, FLIPS1, FLIPS2)
    out = {}
    for red in ('mean', 'iou_weighted'):
        torch.manual_seed(0)
        m = MODELS.build(tiny_mgc_cfg(reduction=red))
        m.init_weights()
        out[red] = m.loss(views, samples)['loss_g16'].item()
    assert out['mean'] != pytest.approx(out['iou_weighted'], rel=1e-4)


def test_neck_pooling_and_gather():
    neck = MODELS.build(tiny_mgc_cfg()['neck'])
    fm = torch.arange(2 * 3 * 14 * 14, dtype=torch.float).reshape(2, 3, 14, 14)
    t32 = neck.pool(fm, 32)
    assert t32.shape == (2, 49, 3)
    # cell (r=1, c=2) of the 7x7 grid averages tokens rows 2-3, cols 4-5.
    torch.testing.assert_close(t32[1, 1 * 7 + 2], fm[1, :, 2:4, 4:6].mean((1, 2)))
    t112 = neck.pool(fm, 112)
    torch.testing.assert_close(t112[0, 3], fm[0, :, 7:, 7:].mean((1, 2)))
    idx = torch.tensor([[3, 0], [1, 2]])
    valid = torch.tensor([[True, False], [True, True]])
    rows = neck.gather(t112, idx, valid)
    assert torch.equal(rows, torch.stack([t112[0, 3], t112[1, 1], t112[1, 2]]))


def test_grain_mismatch_is_an_error():
    cfg = tiny_mgc_cfg()
    cfg['head']['grains'] = (16, 32)
    cfg['head']['loss_weights'] = (0.5, 0.5)
    with pytest.raises(ValueError, match='grains'):
        MODELS.build(cfg)
