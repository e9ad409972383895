"""DSC: geometric pixel pairs are grain_correspondences at the C5 grid and the pixel
loss is the InfoNCE of exactly those pairs; MoCo's momentum convention; the category
term's pseudo-labels (KM and PM); the checkpoint layout of both branches."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample

from mgc_mm.models.utils import grain_correspondences
from mgc_mm.registry import MODELS

BOXES = torch.tensor([[[0, 0, 300, 260], [60, 40, 250, 240]],
                      [[20, 10, 200, 200], [0, 0, 240, 230]]])
FLIPS = torch.tensor([[False, True], [True, False]])


def tiny_dsc(**kw):
    MessageHub.get_current_instance().update_info('max_iters', 100)
    cfg = dict(type='DSC', queue_len=32, feat_dim=16, num_clusters=4, num_pixels=5,
               shuffle_bn=False,
               backbone=dict(type='ResNet', depth=18, norm_cfg=dict(type='BN')),
               neck=dict(type='DenseCLNeck', in_channels=512, hid_channels=32,
                         out_channels=16))
    cfg.update(kw)
    return MODELS.build(cfg)


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    views = [torch.randn(2, 3, 224, 224, generator=g) for _ in range(2)]
    samples = []
    for b, f in zip(BOXES, FLIPS):
        s = DataSample()
        s.set_field(b, 'crop_boxes', field_type='metainfo')
        s.set_field(f, 'crop_flips', field_type='metainfo')
        samples.append(s)
    return views, samples


def test_geometric_pairs_are_grain_correspondences_at_c5():
    model = tiny_dsc()
    views, samples = batch()
    pairs = model.geometric_pairs(samples, 7, torch.device('cpu'))
    want = grain_correspondences(BOXES[:, 0], BOXES[:, 1], FLIPS[:, 0], FLIPS[:, 1], 32,
                                 view_size=224)
    for got, ref in zip(pairs, want):
        assert torch.equal(got, ref)
    assert pairs.valid.sum() > 0 and int(pairs.idx1.max()) < 49

    # The pixel loss is the queue InfoNCE of exactly these (view-1, view-2) cells.
    model.instance_weight = model.category_weight = 0.
    dense_queue = model.dense_queue.clone()
    losses = model.loss(views, samples)
    with torch.no_grad():
        q_grid = model.neck(model.backbone(views[0]))[1]
        target = model.momentum_encoder.module
        k_grid = target.neck(target.backbone(torch.cat(views)))[1][2:]
    rows = torch.arange(2)[:, None].expand_as(pairs.idx1)[pairs.valid]
    q = F.normalize(q_grid.transpose(1, 2)[rows, pairs.idx1[pairs.valid]], dim=1)
    k = F.normalize(k_grid.transpose(1, 2)[rows, pairs.idx2[pairs.valid]], dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ dense_queue.t()], 1) / 0.2
    want_loss = F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long))
    # Same fp32 ops in another order (normalisations, matmul shapes): ~1e-6 relative.
    assert losses['loss_pixel'].item() == pytest.approx(0.5 * want_loss.item(), rel=1e-5)
    assert losses['loss_instance'].item() == 0 and losses['loss_category'].item() == 0
    # The argmax option pairs every view-1 cell instead: another loss.
    argmax = tiny_dsc(correspondence='argmax')
    argmax.load_state_dict(model.state_dict())
    other = argmax.loss(views, samples)['loss_pixel']
    assert torch.isfinite(other) and other.item() != pytest.approx(losses['loss_pixel'].item())


@pytest.mark.parametrize('correspondence', ['geometric', 'argmax'])
def test_batch_pixel_negatives_contrast_every_view2_cell(correspondence):
    """``pixel_negatives='batch'``: the positive among all 2 x 49 momentum view-2 cells
    of the batch, the other cells of the anchor's own image included."""
    model = tiny_dsc(pixel_negatives='batch', correspondence=correspondence,
                     instance_weight=0., category_weight=0.)
    views, samples = batch()
    queue_before = model.dense_queue.clone()
    losses = model.loss(views, samples)
    with torch.no_grad():
        q_b = model.backbone(views[0])
        q_grid = model.neck(q_b)[1]
        target = model.momentum_encoder.module
        k_b = target.backbone(torch.cat(views))
        k_grid = target.neck(k_b)[1][2:]
    q_all = F.normalize(q_grid.transpose(1, 2), dim=2)  # (2, 49, D)
    k_all = F.normalize(k_grid.transpose(1, 2), dim=2).flatten(0, 1)  # (98, D)
    if correspondence == 'geometric':
        pairs = model.geometric_pairs(samples, 7, torch.device('cpu'))
        rows = torch.arange(2)[:, None].expand_as(pairs.idx1)[pairs.valid]
        i1, i2 = pairs.idx1[pairs.valid], pairs.idx2[pairs.valid]
    else:  # every view-1 cell, matched to its most similar view-2 C5 feature
        f1 = F.normalize(q_b[-1].flatten(2), dim=1).transpose(1, 2)
        f2 = F.normalize(k_b[-1][2:].flatten(2), dim=1)
        rows = torch.arange(2).repeat_interleave(49)
        i1, i2 = torch.arange(49).repeat(2), (f1 @ f2).argmax(2).flatten()
    logits = q_all[rows, i1] @ k_all.t() / 0.2
    want = F.cross_entropy(logits, rows * 49 + i2)
    # Same fp32 ops in another order (normalisations, matmul shapes): ~1e-6 relative.
    assert losses['loss_pixel'].item() == pytest.approx(0.5 * want.item(), rel=1e-5)
    # The dense queue is still filled (a config may switch back) but not used here.
    assert not torch.equal(model.dense_queue.clone(), queue_before)
    with pytest.raises(ValueError, match='pixel_negatives'):
        tiny_dsc(pixel_negatives='image')


def test_momentum_convention_is_moco_0999():
    model = tiny_dsc()
    views, samples = batch()
    model.loss(views, samples)  # first update: the target copies the online weights
    target = model.momentum_encoder.module.backbone.conv1.weight
    assert torch.equal(target, model.backbone.conv1.weight)
    old_target = target.detach().clone()
    with torch.no_grad():
        model.backbone.conv1.weight.add_(1.0)
    losses = model.loss(views, samples)
    # p_t <- 0.999 p_t + 0.001 p_o (momentum=0.001 is mmpretrain's 1 - m).
    want = 0.999 * old_target + 0.001 * model.backbone.conv1.weight.detach()
    torch.testing.assert_close(target, want, rtol=0, atol=1e-6)  # fp32 of ~1 values
    assert losses['ema_momentum'].item() == pytest.approx(0.999)
    assert not torch.equal(target, model.backbone.conv1.weight)


def two_blob_pixels():
    g = torch.Generator().manual_seed(0)
    truth = torch.arange(60) % 2
    centres = torch.eye(16)[:2] * 5
    return centres[truth] + 0.1 * torch.randn(60, 16, generator=g), truth


@pytest.mark.parametrize('category', ['kmeans', 'prototypes'])
def test_separated_pixel_clusters_get_different_pseudo_classes(category):
    model = tiny_dsc(category=category, num_clusters=2)
    pixels, truth = two_blob_pixels()
    if category == 'prototypes':  # prototypes along the two blobs (either order)
        with torch.no_grad():
            model.prototypes.weight.copy_(torch.eye(16)[[1, 0]])
    labels, codes = model.pseudo_labels(pixels)
    assert labels[truth == 0].unique().numel() == 1 and labels[truth == 1].unique().numel() == 1
    assert labels[truth == 0][0] != labels[truth == 1][0]
    assert (codes is None) == (category == 'kmeans')


def test_pm_trains_the_prototypes_and_checkpoint_layout():
    model = tiny_dsc(category='prototypes')
    views, samples = batch()
    losses = model.loss(views, samples)
    assert set(losses) == {'loss_instance', 'loss_pixel', 'loss_category', 'loss_prototype',
                           'ema_momentum'}
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert model.prototypes.weight.grad.abs().sum() > 0
    state = model.state_dict()
    online = {k[9:] for k in state if k.startswith('backbone.')}
    momentum = {k[len('momentum_encoder.module.backbone.'):] for k in state
                if k.startswith('momentum_encoder.module.backbone.')}
    assert online == momentum == set(model.backbone.state_dict())
    # The target holds no prototypes (its codes use the online ones, detached).
    assert not any(k.startswith('momentum_encoder.') and 'prototypes' in k for k in state)
