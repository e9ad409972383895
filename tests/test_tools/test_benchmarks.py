"""The downstream kit: benchmark configs load mgc_mm checkpoints exactly, and their
shrunken versions train and evaluate through tools/train.py and tools/test.py."""
import ast
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.utils import import_modules_from_strings
from mmpretrain.models.utils import resize_pos_embed

from mgc_mm.utils import set_pretrained
from tests.conftest import REPO

pytestmark = pytest.mark.slow
BENCH = osp.join(REPO, 'configs', 'benchmarks')
TINY = osp.join(REPO, 'tests', 'data', 'configs')

FULL = {
    'mmdet': 'mmdetection/mask-rcnn_mgc-vit-s16_fpn_8xb2-ms-1x_coco.py',
    'mmdet-cityscapes': 'mmdetection/mask-rcnn_mgc-vit-s16_fpn_8xb1-8e_cityscapes.py',
    'mmseg': 'mmsegmentation/fpn_mgc-vit-s16_8xb2-40k_ade20k-512x512.py',
    'mmseg-upernet': 'mmsegmentation/upernet_mgc-vit-s16_8xb2-160k_ade20k-512x512.py',
    'mmseg-voc': 'mmsegmentation/fpn_mgc-vit-s16_8xb2-40k_voc12aug-512x512.py',
    'mmpose': 'mmpose/td-hm_mgc-vit-s16_8xb64-210e_coco-256x192.py',
}


def build_model(cfg):
    scope = cfg.default_scope
    import_modules_from_strings(cfg.custom_imports['imports'])
    registry = {'mmdet': 'mmdet.registry', 'mmseg': 'mmseg.registry',
                'mmpose': 'mmpose.registry'}[scope]
    models = __import__(registry, fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return models.build(cfg.model)


# Every config with the online branch; the momentum branch once, with mmdet.
@pytest.mark.parametrize('name, branch', [(n, 'online') for n in FULL] + [('mmdet', 'momentum')])
def test_benchmark_config_loads_checkpoint_exactly(name, branch, vit_s_mgc_checkpoint):
    cfg = Config.fromfile(osp.join(BENCH, FULL[name]))
    set_pretrained(cfg, vit_s_mgc_checkpoint, branch, FULL[name])
    model = build_model(cfg)
    model.backbone.init_weights()  # strict: raises on any missing / unexpected key
    prefix = {'online': 'backbone.', 'momentum': 'momentum_encoder.module.backbone.'}[branch]
    ckpt = torch.load(vit_s_mgc_checkpoint, map_location='cpu', weights_only=False)['state_dict']
    expected = {k[len(prefix):]: v for k, v in ckpt.items() if k.startswith(prefix)}
    got = model.backbone.state_dict()
    if not model.backbone.with_cls_token:  # ViTPose: class token and its position dropped
        expected.pop('cls_token')
        grid = model.backbone.patch_resolution
        expected['pos_embed'] = resize_pos_embed(expected['pos_embed'][:, 1:], (14, 14), grid,
                                                 'bicubic', 0)
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert torch.equal(got[k], v), k
    assert model.backbone.arch_settings['num_heads'] == 8 and 'ln1.weight' in got


def run_tool(tool, *args):
    res = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *map(str, args)],
                         cwd=REPO, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-4000:]
    return res.stdout, res.stdout + res.stderr


@pytest.mark.parametrize('config, ckpt_name, metric', [
    ('mask-rcnn_mgc-vit-tiny_demo.py', 'epoch_1.pth', 'coco/segm_mAP'),
    ('fpn_mgc-vit-tiny_demo.py', 'iter_2.pth', 'mIoU'),
    ('td-hm_mgc-vit-tiny_demo.py', 'epoch_1.pth', 'coco/AP'),
])
def test_shrunken_config_trains_and_evaluates(config, ckpt_name, metric, tiny_mgc_checkpoint,
                                              tmp_path):
    work = tmp_path / 'work'
    _, log = run_tool('train.py', osp.join(TINY, config), '--work-dir', work, '--pretrained',
                      tiny_mgc_checkpoint)
    assert 'no missing or unexpected keys' in log
    ckpt = work / ckpt_name
    assert ckpt.is_file()
    stdout, log = run_tool('test.py', osp.join(TINY, config), ckpt, '--work-dir',
                           tmp_path / 'test')
    metrics = ast.literal_eval(stdout.strip().splitlines()[-1])
    assert isinstance(metrics[metric], float) and metrics[metric] >= 0
    assert metric in log


def test_pretrained_flag_errors(tmp_path):
    cfg = Config.fromfile(osp.join(BENCH, FULL['mmdet']))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        set_pretrained(cfg, str(tmp_path / 'nope.pth'), None, 'x')
    bare = Config(dict(model=dict(backbone=dict(type='ResNet'))))
    with pytest.raises(KeyError, match='init_cfg'):
        set_pretrained(bare, None, 'momentum', 'bare.py')


def test_layer_wise_lr_decay_option():
    from mmengine.optim import build_optim_wrapper
    name = 'mmdetection/mask-rcnn_mgc-vit-s16_fpn_8xb2-ms-1x-lrd_coco.py'
    cfg = Config.fromfile(osp.join(BENCH, name))
    model = build_model(cfg)
    with DefaultScope.overwrite_default_scope('mmdet'):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    by_param = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            by_param[id(p)] = group
    named = dict(model.named_parameters())

    def group_of(n):
        return by_param[id(named[n])]

    assert group_of('backbone.layers.11.attn.qkv.weight')['lr'] == pytest.approx(base_lr * 0.75)
    assert group_of('backbone.layers.0.attn.qkv.weight')['lr'] == pytest.approx(base_lr * 0.75**12)
    assert group_of('backbone.patch_embed.projection.weight')['lr'] == pytest.approx(
        base_lr * 0.75**13)
    assert group_of('roi_head.bbox_head.fc_cls.weight')['lr'] == pytest.approx(base_lr)
    assert group_of('backbone.layers.3.ln1.weight')['weight_decay'] == 0
    assert group_of('backbone.pos_embed')['weight_decay'] == 0
    assert group_of('backbone.layers.3.attn.qkv.weight')['weight_decay'] == pytest.approx(0.03)
