"""MoCo v3 (mmpretrain's ``MoCoV3`` + ``MoCoV3ViT`` + ``MoCoV3Head``) on mgc_mm's data
and runtime: the configs hold the paper's ViT-S recipe, the momentum convention
(``base_momentum=0.01`` is the paper's 0.99 -> 1), every trainable parameter gets a
gradient (DDP without unused-parameter search), and the demo config trains through
tools/train.py, writes a checkpoint with a plain ViT under ``backbone.*`` and resumes
exactly."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.model import revert_sync_batchnorm
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from mmpretrain.registry import MODELS

from tests.conftest import REPO

CONFIGS = osp.join(REPO, 'configs', 'mocov3')
IN1K = osp.join(CONFIGS, 'mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py')
COCO = osp.join(CONFIGS, 'mocov3_vit-small-p16_8xb32-amp-coslr-800e_coco.py')
DEMO = osp.join(CONFIGS, 'mocov3_vit-small-p16_1xb8-3e_coco-demo.py')
MGC_COCO = osp.join(REPO, 'configs', 'mgc', 'mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py')
TRAIN = osp.join(REPO, 'tools', 'train.py')
DEMO_ROOT = osp.join(REPO, 'demo', 'data', 'coco')


def test_the_three_configs_are_found():
    assert sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIGS, '*.py'))) == sorted(
        osp.basename(p) for p in (IN1K, COCO, DEMO))


def _flat_types(node):
    if isinstance(node, dict):
        yield node.get('type')
        for v in node.values():
            yield from _flat_types(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _flat_types(v)


def test_in1k_config_is_the_papers_vit_s_recipe():
    cfg = Config.fromfile(IN1K)
    # lr 1.5e-4 x batch / 256 at the global batch 16 x 256 = 4096 (= mmpretrain's 2.4e-3).
    batch = 16 * cfg.train_dataloader.batch_size
    assert batch == 4096 == cfg.auto_scale_lr.base_batch_size
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'AdamW' and opt.weight_decay == 0.1
    assert opt.lr == pytest.approx(1.5e-4 * batch / 256) == pytest.approx(2.4e-3)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    warm, cos = cfg.param_scheduler
    assert (warm.type, warm.begin, warm.end) == ('LinearLR', 0, 40)
    assert (cos.type, cos.begin, cos.end, cos.T_max) == ('CosineAnnealingLR', 40, 300, 260)
    assert cfg.train_cfg.max_epochs == 300
    head = cfg.model.head
    assert head.temperature == 0.2 and head.loss.loss_weight == pytest.approx(0.4)
    assert cfg.model.base_momentum == 0.01
    # mgc_mm's data parts only: no PIL-hue ColorJitter (NumPy 2), no mmpretrain dataset
    # base (its `_scope_` in collate_fn breaks collation).
    types = set(_flat_types(cfg.train_dataloader))
    assert {'UnlabeledImageFolder', 'LoadImageFromFileSafe', 'CV2ColorJitter',
            'CV2GaussianBlur'} <= types
    assert not types & {'ColorJitter', 'GaussianBlur', 'LoadImageFromFile', 'ImageNet'}
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    views = cfg.train_pipeline[1].transforms
    assert [v[0]['crop_ratio_range'] for v in views] == [(0.08, 1.), (0.08, 1.)]  # ViT crops
    blur = [[t['prob'] for t in v if t['type'] == 'CV2GaussianBlur'] for v in views]
    solarize = [[t['prob'] for t in v if t['type'] == 'Solarize'] for v in views]
    assert blur == [[1.], [0.1]] and solarize == [[0.], [0.2]]

    # ViT-S/16 with 12 heads, frozen patch projection, fixed sin-cos position embedding.
    vit = MODELS.build(cfg.model.backbone)
    vit.init_weights()
    assert vit.arch_settings == dict(embed_dims=384, num_layers=12, num_heads=12,
                                     feedforward_channels=1536)
    assert not vit.patch_embed.projection.weight.requires_grad
    assert not vit.patch_embed.projection.bias.requires_grad
    assert not vit.pos_embed.requires_grad
    sincos = build_2d_sincos_position_embedding((14, 14), 384, cls_token=True)
    assert torch.equal(vit.pos_embed.data, sincos)


def test_coco_config_has_mgcs_data_and_batch():
    cfg, mgc = Config.fromfile(COCO), Config.fromfile(MGC_COCO)
    ours, theirs = cfg.train_dataloader, mgc.train_dataloader
    for key in ('batch_size', 'num_workers', 'drop_last', 'sampler', 'collate_fn'):
        assert ours[key] == theirs[key], key
    for key in ('type', 'data_root', 'data_prefix'):
        assert ours.dataset[key] == theirs.dataset[key], key
    assert cfg.train_cfg.max_epochs == mgc.train_cfg.max_epochs == 800
    assert cfg.auto_scale_lr.base_batch_size == mgc.auto_scale_lr.base_batch_size == 256
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(1.5e-4)  # 1.5e-4 x 256 / 256
    warm, cos = cfg.param_scheduler
    assert (warm.end, cos.begin, cos.end, cos.T_max) == (40, 40, 800, 760)
    assert cfg.model == Config.fromfile(IN1K).model  # the recipe's model unchanged


def tiny_mocov3(config=DEMO):
    """The config's MoCoV3 with a very small ViT and heads (same classes and wiring)."""
    cfg = Config.fromfile(config).model
    cfg.backbone.arch = dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64)
    cfg.backbone.img_size = 32
    cfg.neck.update(in_channels=32, hid_channels=48, out_channels=16)
    cfg.head.predictor.update(in_channels=16, hid_channels=48, out_channels=16)
    model = revert_sync_batchnorm(MODELS.build(cfg))  # one process: plain BN
    model.init_weights()
    return model.train()


@pytest.mark.parametrize('config', [IN1K, COCO, DEMO], ids=osp.basename)
def test_key_encoder_moves_one_hundredth_toward_the_online_one(config):
    """The paper's momentum 0.99 at the start of the cosine, 1 at its end: the key encoder
    after an update is m * old + (1 - m) * online with m = 0.99 (step 0), 0.995 (half
    way), 1 (end). mmpretrain 1.x writes this as base_momentum=0.01 (CosineEMA, mmengine's
    EMA convention); a release that flips it, or a config with 0.99, fails here."""
    torch.manual_seed(0)
    model = tiny_mocov3(config)
    online = torch.nn.Sequential(model.backbone, model.neck)
    ema = model.momentum_encoder
    views = [torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)]
    hub = MessageHub.get_current_instance()
    max_iters = 10**9  # cos(pi * 1 / max_iters) == 1 in float64: step 0 of the cosine
    hub.update_info('max_iters', max_iters)

    model.loss(views, None)  # the first update copies the online weights
    for (name, k), q in zip(ema.module.named_parameters(), online.parameters()):
        assert torch.equal(k, q), name
    for steps, m in ((1, 0.99), (max_iters // 2, 0.995), (max_iters, 1.0)):
        with torch.no_grad():  # stands for an optimizer step of the online branch
            for q in online.parameters():
                q.add_(torch.randn_like(q))
        old = [k.detach().clone() for k in ema.module.parameters()]
        ema.steps.fill_(steps)
        model.loss(views, None)  # the update happens inside the real loss
        for (name, k), k_old, q in zip(ema.module.named_parameters(), old, online.parameters()):
            # assert_close's float32 default (rtol 1.3e-6): the EMA runs in float32.
            torch.testing.assert_close(k, m * k_old + (1 - m) * q, msg=f'{name} at m={m}')
    hub.update_info('max_iters', None)


def test_every_trainable_parameter_gets_a_gradient():
    """Why the configs keep DDP's find_unused_parameters=False (mmpretrain's sets True):
    a parameter without a gradient would make DDP wait for it forever. The frozen patch
    projection and position embedding are not trainable, so DDP ignores them."""
    torch.manual_seed(0)
    model = tiny_mocov3()
    MessageHub.get_current_instance().update_info('max_iters', 100)
    views = [torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)]
    model.loss(views, None)['loss'].backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert not [n for n, p in trainable.items() if p.grad is None]
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert {'backbone.patch_embed.projection.weight', 'backbone.pos_embed'} <= frozen
    assert all(n.startswith(('backbone.patch_embed.', 'backbone.pos_embed',
                             'momentum_encoder.')) for n in frozen), frozen


# ----------------------------------------------------------- end to end, tools/train.py
# 8 of the bundled images, batch 4 (2 iterations an epoch), one thread; ViT-S's layout
# (class, key names, sin-cos position embedding, frozen patch projection) at deit-tiny
# width (192, 3 heads) and 112-pixel views, so that a step takes a fraction of a second.
SMALL = ['train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=4',
         'train_dataloader.num_workers=0', f'train_dataloader.dataset.data_root={DEMO_ROOT}',
         'model.backbone.arch=deit-tiny', 'model.backbone.img_size=112',
         'model.neck.in_channels=192', 'model.neck.hid_channels=256',
         'model.head.predictor.hid_channels=256',
         'train_dataloader.dataset.pipeline.1.transforms.0.0.scale=112',
         'train_dataloader.dataset.pipeline.1.transforms.1.0.scale=112',
         # a checkpoint every epoch, both kept: epoch_1 is the resume point
         'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=2',
         # No fixed seed on purpose: the resumed run must take the run's seed from the
         # checkpoint, sampler order included (EpochSeedHook.before_train).
         'train_cfg.max_epochs=2']
LOSS_LINE = re.compile(r'Epoch\(train\) \[(\d+)\]\[(\d+)/\d+\].* loss: ([\d.]+)')


def train(cwd, work_dir, *args):
    res = subprocess.run([sys.executable, TRAIN, DEMO, '--work-dir', str(work_dir), *args,
                          '--cfg-options', *SMALL],
                         cwd=str(cwd), env=dict(os.environ, OMP_NUM_THREADS='1'),
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    runs = sorted(d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d)))
    with open(osp.join(work_dir, runs[-1], f'{runs[-1]}.log')) as f:
        log = f.read() + res.stdout + res.stderr
    return {(int(e), int(i)): float(v) for e, i, v in LOSS_LINE.findall(log)}, log


def state(path):
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.mark.slow
def test_demo_trains_writes_a_vit_backbone_and_resumes_exactly(tmp_path):
    # From another cwd: every path is absolute.
    full = tmp_path / 'full'
    losses, _ = train(tmp_path, full)
    assert sorted(losses) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    # Symmetrised InfoNCE x 2 tau over a batch of 4: positive, finite, at most
    # 2 tau x 2 x (log 4 + 2 / tau) = 0.8 log 4 + 8 (logits are cosines / tau).
    assert all(0 < v < 0.8 * 1.3863 + 8 for v in losses.values()), losses

    ckpt = state(full / 'epoch_2.pth')
    assert ckpt['meta']['iter'] == 4 and ckpt['meta']['epoch'] == 2
    sd = ckpt['state_dict']
    backbone = {k[len('backbone.'):]: v for k, v in sd.items() if k.startswith('backbone.')}
    vit = MODELS.build(dict(type='MoCoV3ViT', arch='deit-tiny', img_size=112, patch_size=16))
    assert set(backbone) == set(vit.state_dict())
    vit.load_state_dict(backbone, strict=True)
    # The key encoder (Sequential(backbone, neck)) is elsewhere, moved 4 EMA steps.
    key = {k[len('momentum_encoder.module.0.'):]: v for k, v in sd.items()
           if k.startswith('momentum_encoder.module.0.')}
    assert set(key) == set(backbone)
    assert not torch.equal(key['layers.0.attn.qkv.weight'], backbone['layers.0.attn.qkv.weight'])
    assert int(sd['momentum_encoder.steps']) == 4
    # Fixed sin-cos position embedding, saved, never trained (no gradient, so AdamW and
    # its weight decay skip it). The key copy is the EMA of equal tensors: (1 - m) a + m a
    # in float32, a up to rounding (a few ulp, within assert_close's float32 default).
    sincos = build_2d_sincos_position_embedding((7, 7), 192, cls_token=True)
    assert torch.equal(backbone['pos_embed'], sincos)
    torch.testing.assert_close(key['pos_embed'], sincos)
    assert all(torch.isfinite(v).all() for v in sd.values() if v.is_floating_point())
    # The stored config says what the benchmarks must build (MGCViT's head-count check).
    assert "arch='deit-tiny'" in ckpt['meta']['cfg']

    # Resume from epoch 1 of that run in a new work dir: epoch 2 is the uninterrupted
    # run's, tensor for tensor (same config, seeds, data order, one thread: the same
    # computation), losses included.
    resumed = tmp_path / 'resumed'
    losses2, log = train(tmp_path, resumed, '--resume', str(full / 'epoch_1.pth'))
    assert f'{full}/epoch_1.pth' in log
    assert {k: v for k, v in losses2.items()} == {k: losses[k] for k in [(2, 1), (2, 2)]}
    got = state(resumed / 'epoch_2.pth')
    assert got['meta']['iter'] == 4
    assert set(got['state_dict']) == set(sd)
    for k, v in sd.items():
        assert torch.equal(got['state_dict'][k], v), k
    assert set(got['optimizer']['state']) == set(ckpt['optimizer']['state'])
    for i, s in ckpt['optimizer']['state'].items():
        for name, v in s.items():
            assert torch.equal(torch.as_tensor(got['optimizer']['state'][i][name]),
                               torch.as_tensor(v)), (i, name)
