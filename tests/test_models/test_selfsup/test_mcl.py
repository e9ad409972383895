"""MCL (specs/mcl.md): wiring of montages, FPN levels, tiles and labels; momentum rule;
state-dict layout; optimiser groups."""
import copy
import os.path as osp
from math import cos, pi

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mgc_mm.models.selfsup import fpn_level_outputs
from mgc_mm.models.utils import downsample_views
from tests.conftest import REPO
from tests.test_models.test_heads.test_mcl_head import numpy_loss

MODEL_CFG = osp.join(REPO, 'configs', '_base_', 'models', 'mcl_r50-fpn.py')
DEMO_CFG = osp.join(REPO, 'configs', 'mcl', 'mcl_resnet50-fpn_1xb8-2e_coco-demo.py')


def tiny_mcl_cfg():
    """The real structure with a narrow ResNet-18 (C2..C5 = 16..128 channels)."""
    mlp = dict(type='NonLinearNeck', in_channels=16, hid_channels=32, out_channels=16,
               num_layers=2, with_bias=True, with_last_bias=False, with_last_bn=True,
               with_last_bn_affine=False, with_avg_pool=False, norm_cfg=dict(type='BN1d'))
    pred = dict(mlp, with_last_bn=False, with_last_bias=True)
    return copy.deepcopy(dict(
        type='MCL', base_momentum=0.01,
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True),
        backbone=dict(type='ResNet', depth=18, stem_channels=16, base_channels=16,
                      out_indices=(0, 1, 2, 3), norm_cfg=dict(type='BN'),
                      zero_init_residual=False),
        neck=dict(type='mmdet.FPN', in_channels=[16, 32, 64, 128], out_channels=16,
                  num_outs=4, norm_cfg=dict(type='BN'), act_cfg=None),
        region_head=dict(type='TileRegionHead', in_channels=16, conv_channels=16, mlp=mlp),
        head=dict(type='MCLHead', predictor=pred)))


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = MODELS.build(tiny_mcl_cfg())
    m.init_weights()
    MessageHub.get_current_instance().update_info('max_iters', 100)
    return m


def views(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, 224, 224, generator=g) for _ in range(8)]


def online_params(m):
    return {n: p for n, p in m.named_parameters() if not n.startswith('momentum_encoder')}


def test_loss_terms_and_gradients(model):
    losses = model.loss(views(), None)
    assert set(losses) == {'loss_level0', 'loss_level1', 'loss_level2', 'loss_level3',
                           'ema_momentum'}
    for i in range(4):
        assert losses[f'loss_level{i}'].ndim == 0 and losses[f'loss_level{i}'] > 0
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for n, p in online_params(model).items():
        assert p.grad is not None and p.grad.abs().sum() > 0, n
    for n, p in model.momentum_encoder.named_parameters():
        assert not p.requires_grad and p.grad is None, n


def test_each_level_reads_its_own_fpn_output_and_tiles(model):
    seen = []

    def spy(head):
        orig = head.forward

        def forward(maps, grids):
            seen.append(([tuple(m.shape) for m in maps], tuple(grids)))
            return orig(maps, grids)
        return forward

    model.region_head.forward = spy(model.region_head)
    target_head = model.momentum_encoder.module.region_head
    target_head.forward = spy(target_head)
    model.loss(views(n=4), None)
    # online: level i = P(5 - i) of its 2 M_i inputs (M = 4, 1, 1, 1), 7 x 7 tiles;
    # momentum: P5 of the 2 x 4 full views, one tile each
    assert seen[0] == ([(8, 16, 7, 7), (2, 16, 14, 14), (2, 16, 28, 28), (2, 16, 56, 56)],
                       (1, 2, 4, 8))
    assert seen[1] == ([(8, 16, 7, 7)], (1, ))


def test_montage_inputs_and_labels(model):
    v = views(n=4)
    torch.manual_seed(3)
    inputs, labels = model.make_levels(v)
    assert [x.shape[0] for x in inputs] == [8, 2, 2, 2]
    assert [len(lab[0]) for lab in labels] == [4, 4, 16, 64]
    for i, r in enumerate((1, 2, 4, 8)):
        s = 224 // r
        for side in (0, 1):
            mont = inputs[i].chunk(2)[side]
            src = downsample_views(v[side * 4 + i], r)
            for c, lab in enumerate(labels[i][side].tolist()):
                b, t = divmod(c, r * r)
                y, x = divmod(t, r)
                assert torch.equal(mont[b, :, y * s:(y + 1) * s, x * s:(x + 1) * s], src[lab])


def test_fpn_level_outputs_equal_mmdet_fpn_rows(model):
    model.eval()  # BN with running statistics: rows are independent
    feats = model.backbone(torch.randn(7, 3, 224, 224))
    full = model.neck(feats)
    counts = [2, 1, 3, 1]
    outs = fpn_level_outputs(model.neck, feats, counts)
    start = 0
    for i, (c, o) in enumerate(zip(counts, outs)):
        # the same convs on a subset of the batch: the CPU kernels may block the batch
        # differently, float32 rounding only (~1e-6 of O(1) values)
        torch.testing.assert_close(o, full[3 - i][start:start + c], rtol=1e-4, atol=1e-5)
        start += c
    with pytest.raises(ValueError, match='rows'):
        fpn_level_outputs(model.neck, feats, [2, 0, 5, 0])


def smooth_views(n=4, seed=0):
    """Views of n distinct smooth images, each view with its own noise."""
    g = torch.Generator().manual_seed(seed)
    base = F.interpolate(torch.randn(n, 3, 4, 4, generator=g), size=224, mode='bilinear') * 2
    return [base + 0.3 * torch.randn(n, 3, 224, 224, generator=g) for _ in range(8)]


def test_loss_equals_composition_of_mmdet_fpn_tiles_and_numpy():
    """Independently of MCL.loss: mmdet's FPN on every input, each montage cell's 7x7
    tile cut out by hand, the region head on the lone tiles, the loss in NumPy."""
    cfg = tiny_mcl_cfg()
    # A low temperature spreads the logits of this random network (at tau = 1 every
    # level sits near log N), so that a cell, tile, side or label mix-up moves a level's
    # loss by several percent.
    cfg['head']['loss'] = dict(type='InfoNCELoss', temperature=0.05, loss_weight=0.1)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    MessageHub.get_current_instance().update_info('max_iters', 100)
    # Eval mode (running statistics), so that batch splits do not matter, with the
    # statistics of one training batch (momentum None: their plain average) rather than
    # (0, 1), under which the untrained embeddings all point the same way.
    for mod in model.modules():
        if isinstance(mod, _BatchNorm) and mod.track_running_stats:
            mod.momentum = None
            mod.reset_running_stats()
    with torch.no_grad():
        model.loss(smooth_views(seed=2), None)
    model.eval()
    v = smooth_views(seed=1)
    torch.manual_seed(7)
    got = model.loss(v, None)
    torch.manual_seed(7)  # the same montages
    inputs, labels = model.make_levels(v)
    with torch.no_grad():
        p = model.neck(model.backbone(torch.cat(inputs)))
        sizes = [x.shape[0] for x in inputs]
        starts = [sum(sizes[:i]) for i in range(4)]
        online = []
        for i, r in enumerate((1, 2, 4, 8)):
            fmap = p[3 - i][starts[i]:starts[i] + sizes[i]]
            tiles = [fmap[b, :, y * 7:y * 7 + 7, x * 7:x * 7 + 7]
                     for b in range(sizes[i]) for y in range(r) for x in range(r)]
            emb = torch.cat([model.region_head.forward_tiles(t[None]) for t in tiles])
            online.append(emb.chunk(2))
        tnet = model.momentum_encoder.module
        t5 = tnet.neck(tnet.backbone(torch.cat((v[0], v[4]))))[3]
        targets = tnet.region_head.forward_tiles(t5).chunk(2)
    ref = numpy_loss(model.head, online, labels, targets, train=False, per_level=True)
    # float32 network vs the same network on other batch splits plus a float64 loss:
    # ~1e-6 relative; reversing the levels of one side moves levels 1 and 3 by 12% and
    # 9% here, far outside 1e-4.
    for i in range(4):
        assert got[f'loss_level{i}'].item() == pytest.approx(ref[i], rel=1e-4), i


def test_target_starts_equal_and_follows_momentum_rule(model):
    v = views(n=2)
    model.loss(v, None)  # step 0: exact copy
    target = dict(model.momentum_encoder.module.named_parameters())
    online = dict(model._online_encoder().named_parameters())
    assert set(target) == set(online)
    assert {n.split('.')[0] for n in online} == {'backbone', 'neck', 'region_head'}
    for n in online:
        assert torch.equal(target[n], online[n]), n
    before = {n: p.detach().clone() for n, p in target.items()}
    with torch.no_grad():  # stand-in for an optimizer step
        for p in model._online_encoder().parameters():
            p.add_(torch.randn_like(p) * 0.01)
    losses = model.loss(v, None)  # step 1
    m = 1 - 0.01 * (cos(pi * 1 / 100) + 1) / 2
    assert losses['ema_momentum'].item() == pytest.approx(m, rel=1e-6)
    assert m == pytest.approx(0.99, abs=1e-5)
    for n, p in online.items():
        torch.testing.assert_close(target[n], m * before[n] + (1 - m) * p.detach())


def r50_model():
    cfg = Config.fromfile(MODEL_CFG)
    return MODELS.build(cfg.model)


def test_state_dict_layout_of_the_r50_config():
    from mmdet.models.necks import FPN
    from mmdet.models.roi_heads.bbox_heads import Shared4Conv1FCBBoxHead
    from mmpretrain.models import ResNet
    sd = r50_model().state_dict()
    with DefaultScope.overwrite_default_scope('mmdet'):
        box = Shared4Conv1FCBBoxHead(in_channels=256, fc_out_channels=1024, roi_feat_size=7,
                                     num_classes=80, norm_cfg=dict(type='BN'))
    ref = {
        'backbone.': ResNet(depth=50, out_indices=(0, 1, 2, 3)).state_dict(),
        'neck.': FPN([256, 512, 1024, 2048], 256, 4, norm_cfg=dict(type='BN')).state_dict(),
        'region_head.shared_convs.': {k[len('shared_convs.'):]: v
                                      for k, v in box.state_dict().items()
                                      if k.startswith('shared_convs.')},
    }

    def part(prefix):
        return {k[len(prefix):]: v.shape for k, v in sd.items() if k.startswith(prefix)}

    for prefix, keys in ref.items():
        assert part(prefix) == {k: v.shape for k, v in keys.items()}, prefix
        assert part('momentum_encoder.module.' + prefix) == part(prefix), prefix
    assert 'neck.lateral_convs.0.conv.weight' in sd and 'neck.fpn_convs.3.bn.running_var' in sd
    assert 'neck.lateral_convs.0.conv.bias' not in sd  # BN instead
    mlp = part('region_head.mlp.')
    assert set(mlp) >= {'fc0.weight', 'fc0.bias', 'bn0.weight', 'fc1.weight', 'bn1.running_mean'}
    assert part('momentum_encoder.module.region_head.mlp.') == mlp
    assert {k.split('.')[2] for k in sd if k.startswith('head.')} == {'0', '1', '2', '3'}
    assert all(k.startswith('head.predictors.') for k in sd if k.startswith('head.'))
    assert not any(k.startswith('momentum_encoder.module.head') for k in sd)
    tops = {k.split('.')[0] for k in sd}
    assert tops == {'backbone', 'neck', 'region_head', 'head', 'momentum_encoder'}


def test_lars_groups_exclude_bn_and_biases():
    from mmengine.optim import build_optim_wrapper
    # The paper's LARS (the COCO config), as a plain fp32 wrapper: mmengine's AMP wrapper
    # needs an accelerator. (The CPU demo uses SGD: LARS scaled to batch 8 does not move.)
    cfg = Config.fromfile(DEMO_CFG.replace('1xb8-2e_coco-demo', '8xb128-amp-lars-coslr-800e_coco'))
    optim_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')
    optim_cfg.pop('dtype')
    optim_cfg.pop('loss_scale')
    model = r50_model()
    wrapper = build_optim_wrapper(model, optim_cfg)
    assert type(wrapper.optimizer).__name__ == 'LARS'
    assert wrapper.clip_grad_kwargs == dict(max_norm=500)
    names = {id(p): n for n, p in model.named_parameters()}
    seen = 0
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            seen += 1
            name = names[id(p)]
            assert not name.startswith('momentum_encoder')
            if p.ndim == 1:  # BN weights and biases, linear biases
                assert group['weight_decay'] == 0 and group.get('lars_exclude'), name
            else:
                assert group['weight_decay'] == 1e-5 and not group.get('lars_exclude'), name
            assert group['lr'] == pytest.approx(16.0 * 1024 / 4096)
    assert seen == sum(1 for n, p in model.named_parameters() if p.requires_grad)
