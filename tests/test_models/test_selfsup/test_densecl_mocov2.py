"""DenseCL and MoCo v2 from mmpretrain, built from mgc_mm's configs: the momentum
convention, DenseCL's argmax matching (specs/densecl.md "Check") and the pipeline."""
import glob
import os.path as osp
from functools import partial

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import FUNCTIONS
from mmpretrain.models import DenseCL
from mmpretrain.registry import DATASETS, MODELS

from tests.conftest import REPO

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'densecl', '*.py')) +
                 glob.glob(osp.join(REPO, 'configs', 'mocov2', '*.py')))
DEMO_ROOT = osp.join(REPO, 'demo', 'data', 'coco')


def config_id(path):
    return osp.relpath(path, osp.join(REPO, 'configs'))


def test_all_six_configs_are_found():
    names = {osp.basename(p) for p in CONFIGS}
    assert len(names) == 6 and {
        'densecl_resnet50_8xb32-coslr-800e_coco.py', 'densecl_resnet50_8xb32-coslr-200e_in1k.py',
        'densecl_resnet50_1xb8-2e_coco-demo.py', 'mocov2_resnet50_8xb32-coslr-800e_coco.py',
        'mocov2_resnet50_8xb32-coslr-200e_in1k.py', 'mocov2_resnet50_1xb8-2e_coco-demo.py'
    } == names


def test_only_the_demos_normalise_their_projectors():
    """The demos' necks have BN (the BN-free ones left the backbones below random init
    in 120 demo steps, see their comments); the full configs keep the papers' necks."""
    for config in CONFIGS:
        neck = Config.fromfile(config).model.neck
        if 'demo' in config:
            model = MODELS.build(Config.fromfile(config).model)
            assert any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                       for m in model.neck.modules()), config
        else:
            want = 'MoCoV2Neck' if 'mocov2' in config else 'DenseCLNeck'
            assert neck.type == want, config


# ------------------------------------------------------------------------- momentum
@pytest.mark.parametrize('config', CONFIGS, ids=config_id)
def test_key_encoder_moves_one_thousandth_toward_the_online_one(config):
    """The classic MoCo / DenseCL momentum 0.999: after an update the key encoder is
    0.999 * its old weights + 0.001 * the online weights. mmpretrain 1.x writes this
    as momentum=0.001 (mmengine's EMA); a release that flips the convention, or a
    config with 0.999, fails here. The demos use 0.99 (m = 0.01, scaled to their
    ~100 steps; see their comments), checked the same way."""
    m = 0.01 if 'demo' in config else 0.001
    assert Config.fromfile(config).model.momentum == m
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model).train()
    online = nn.Sequential(model.backbone, model.neck)
    key = model.encoder_k.module
    views = [torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)]  # C5: 2 x 2

    model.loss(views, None)  # the first update copies the online weights (MoCo's init)
    for (name, k), q in zip(key.named_parameters(), online.parameters()):
        assert torch.equal(k, q), name
    with torch.no_grad():  # stands for an optimizer step of the online branch
        for q in online.parameters():
            q.add_(torch.randn_like(q))
    old = [k.detach().clone() for k in key.parameters()]
    model.loss(views, None)  # the update happens inside the real loss
    for (name, k), k_old, q in zip(key.named_parameters(), old, online.parameters()):
        torch.testing.assert_close(k, (1 - m) * k_old + m * q, msg=name)
    assert int(model.encoder_k.steps) == 2


# ---------------------------------------------------------------- argmax matching
class _Identity(nn.Module):
    """Stands for the backbone: the 'image' is the C5 feature map itself."""

    def forward(self, x):
        return (x, )


class _CodeNeck(nn.Module):
    """Query neck: every location's dense vector is w (distinct entries). Key neck
    (role='key'): location j's dense vector is the one-hot e_j. So DenseCL's dense
    positive logit of query location i is w[match(i)]."""
    w = nn.functional.normalize(torch.tensor([1., 2., 4., 8.]), dim=0)
    role = 'query'

    def forward(self, feats):
        x, = feats
        n, s2 = x.size(0), x.size(2) * x.size(3)
        if self.role == 'key':
            grid = torch.eye(s2).expand(n, -1, -1)
        else:
            grid = self.w.view(1, -1, 1).expand(n, -1, s2)
        return torch.ones(n, s2), grid.contiguous(), torch.ones(n, s2)


class _RecordingHead(nn.Module):
    """Keeps the positive logits DenseCL hands to the head (global, then dense)."""

    def __init__(self):
        super().__init__()
        self.positives = []

    def loss(self, pos, neg):
        self.positives.append(pos.detach().clone())
        return pos.sum() * 0


def densecl_matches(q, k):
    """Run mmpretrain's ``DenseCL.loss`` on C5 features ``q``, ``k`` (C x S^2,
    columns = locations of a 2 x 2 grid) and read back which key location each
    query location was matched to."""
    model = DenseCL(backbone=dict(type=_Identity), neck=dict(type=_CodeNeck),
                    head=dict(type=_RecordingHead), queue_len=8, feat_dim=4)
    model.encoder_k.module[1].role = 'key'
    as_map = lambda f: torch.as_tensor(f, dtype=torch.float32).view(1, 2, 2, 2)  # noqa: E731
    model.loss([as_map(q), as_map(k)], None)
    dense_pos = model.head.positives[1].view(-1)  # one per query location
    return (dense_pos.view(-1, 1) - _CodeNeck.w.view(1, -1)).abs().argmin(1).tolist()


def test_argmax_matching_example_of_the_spec():
    """specs/densecl.md "Check", through mmpretrain's own matching code."""
    q = [[1, 0, 1, 0.6], [0, 1, 0.2, 0.8]]
    k = [[0, 1, 0.9, 0.7], [1, 0, 0.1, 0.7]]
    assert densecl_matches(q, k) == [1, 0, 2, 3]
    # The spec calls these vectors normalised but q_2, k_2 and k_3 are not unit
    # length: the answer relies on DenseCL normalising them (cosine). A plain dot
    # product would match query location 2 to key location 1 (1.0 > 0.92).
    raw = (torch.tensor(q).t() @ torch.tensor(k)).argmax(1).tolist()
    assert raw == [1, 0, 1, 3]
    # Scaling a location's features changes nothing, as for a cosine.
    assert densecl_matches([[3, 0, 1, 6], [0, 5, 0.2, 8]], k) == [1, 0, 2, 3]


# ------------------------------------------------------------------ data and hooks
@pytest.mark.parametrize('config', CONFIGS, ids=config_id)
def test_two_views_through_the_loader_collate_and_preprocessor(config):
    cfg = Config.fromfile(config)
    loader = cfg.train_dataloader
    # An mmpretrain:: base would tag collate_fn with _scope_, which mmengine passes on
    # to default_collate as an argument.
    assert '_scope_' not in loader.collate_fn
    ds_cfg = loader.dataset.copy()
    ds_cfg.update(data_root=DEMO_ROOT, data_prefix='train2017/')
    dataset = DATASETS.build(ds_cfg)
    collate = dict(loader.collate_fn)
    collate = partial(FUNCTIONS.get(collate.pop('type')), **collate)  # as mmengine does
    batch = collate([dataset[0], dataset[1]])
    model_pre = MODELS.build(cfg.model.data_preprocessor)
    data = model_pre(batch, training=True)
    views = data['inputs']
    assert isinstance(views, list) and len(views) == 2
    assert all(v.shape == (2, 3, 224, 224) and v.dtype == torch.float32 for v in views)
    assert not torch.equal(views[0], views[1])  # two different augmentations


@pytest.mark.parametrize('config', [c for c in CONFIGS if 'densecl' in osp.basename(c)],
                         ids=config_id)
def test_densecl_configs_warm_up_the_dense_loss(config):
    cfg = Config.fromfile(config)
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'DenseCLHook']
    assert len(hooks) == 1
    assert hooks[0]['start_iters'] == (4 if 'demo' in config else 1000)
    assert cfg.model.loss_lambda == 0.5


@pytest.mark.parametrize('config,lr,epochs', [
    ('densecl/densecl_resnet50_8xb32-coslr-800e_coco.py', 0.3, 800),
    ('densecl/densecl_resnet50_8xb32-coslr-200e_in1k.py', 0.03, 200),
    ('mocov2/mocov2_resnet50_8xb32-coslr-800e_coco.py', 0.3, 800),
    ('mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py', 0.03, 200),
])
def test_paper_settings(config, lr, epochs):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 256
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', lr, 0.9, 1e-4)
    assert cfg.train_cfg.max_epochs == epochs
    [cos] = cfg.param_scheduler
    assert (cos.type, cos.T_max, cos.begin, cos.end) == ('CosineAnnealingLR', epochs, 0, epochs)
    model = cfg.model
    assert (model.queue_len, model.feat_dim, model.head.temperature) == (65536, 128, 0.2)
    assert model.backbone.depth == 50 and model.backbone.norm_cfg.type == 'BN'  # shuffle-BN
    dataset = cfg.train_dataloader.dataset
    wanted = ('data/imagenet/', 'train/') if 'in1k' in config else ('data/coco/', 'train2017/')
    assert (dataset.type, dataset.data_root, dataset.data_prefix) == ('UnlabeledImageFolder',
                                                                      *wanted)
