"""The linear-probe configs: the shrunken ViT one trains a frozen tiny MGC backbone
through tools/train.py --pretrained and prints accuracy; the ImageNet ones inherit
mmpretrain's benchmarks, freeze the backbone and load strictly."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mgc_mm.models.utils.strict_init import PRETRAINED_PLACEHOLDER
from mgc_mm.utils import set_pretrained
from tests.conftest import REPO

CLS = osp.join(REPO, 'configs', 'benchmarks', 'classification')
VIT = osp.join(CLS, 'mgc-vit-s16_linear-8xb128-coslr-90e_in1k.py')
VIT12 = osp.join(CLS, 'mocov3-vit-s16_linear-8xb128-coslr-90e_in1k.py')
R50 = osp.join(CLS, 'resnet50_linear-8xb32-steplr-100e_in1k.py')
TINY = osp.join(REPO, 'tests', 'data', 'configs', 'linear_mgc-vit-tiny_demo.py')


def load_train_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location('mgc_mm_train_tool',
                                                  osp.join(REPO, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_linear_probe_trains_the_head_only(tiny_mgc_checkpoint, tmp_path):
    # tools/train.py's main in-process: the same code path as the command line, without
    # ~15 s of imports in a new interpreter.
    work = tmp_path / 'lin'
    load_train_tool().main([TINY, '--work-dir', str(work), '--pretrained', tiny_mgc_checkpoint])
    log_file, = glob.glob(str(work / '*' / '*.log'))
    with open(log_file) as f:
        log = f.read()
    assert re.search(r"loaded \d+ backbone tensors from .* \(prefix 'backbone\.'\), no "
                     'missing or unexpected keys', log)
    acc = re.search(r'Epoch\(val\) \[3\]\[1/1\]\s+accuracy/top1: ([\d.]+)\s+'
                    r'accuracy/top5: ([\d.]+)', log)
    assert acc, log[-2000:]
    top1, top5 = map(float, acc.groups())
    assert 0 <= top1 <= top5 <= 100
    # Frozen: the backbone after training is the pretrained one, tensor for tensor;
    # the head learned.
    pre = torch.load(tiny_mgc_checkpoint, map_location='cpu', weights_only=False)['state_dict']
    post = torch.load(str(work / 'epoch_3.pth'), map_location='cpu',
                      weights_only=False)['state_dict']
    backbone = {k: v for k, v in post.items() if k.startswith('backbone.')}
    assert backbone and all(torch.equal(v, pre[k]) for k, v in backbone.items())
    assert post['head.layers.head.weight'].shape == (8, 64)
    assert post['head.layers.head.weight'].abs().sum() > 0


def test_vit_configs_head_count_and_protocol():
    vit, vit12 = Config.fromfile(VIT), Config.fromfile(VIT12)
    assert vit.model.backbone.type == 'MGCViT' and vit.model.backbone.arch.num_heads == 8
    assert vit12.model.backbone.arch.num_heads == 12
    for cfg in (vit, vit12):
        b = cfg.model.backbone
        assert b.out_type == 'cls_token' and b.frozen_stages == 12
        assert b.init_cfg.checkpoint == PRETRAINED_PLACEHOLDER
        # mmpretrain's MoCo v3 ViT-S linear protocol, inherited
        assert cfg.optim_wrapper.optimizer.lr == 12 and cfg.train_cfg.max_epochs == 90
        assert cfg.model.head.type == 'VisionTransformerClsHead'


def randomised_r50(path):
    from mmpretrain.models import ResNet
    state = {f'backbone.{k}': (torch.randn_like(v) if v.is_floating_point() else
                               torch.randint_like(v, 1, 99))
             for k, v in ResNet(50).state_dict().items()}
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state


def test_r50_config_loads_strictly_and_freezes(tmp_path):
    from mmengine.utils import import_modules_from_strings
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(R50)
    assert cfg.model.backbone.init_cfg.checkpoint == PRETRAINED_PLACEHOLDER
    assert cfg.optim_wrapper.optimizer.lr == 30.  # mmpretrain's MoCo v2 protocol
    import_modules_from_strings(**cfg.custom_imports)
    ckpt = str(tmp_path / 'r50.pth')
    state = randomised_r50(ckpt)
    set_pretrained(cfg, ckpt, None, R50)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.backbone.state_dict()
    assert len(loaded) == len(state)
    assert all(torch.equal(v, state[f'backbone.{k}']) for k, v in loaded.items())
    model.train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert not any(m.training for m in model.backbone.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))
    assert all(p.requires_grad for p in model.head.parameters())
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64), mode='tensor').shape == (2, 1000)

    # A missing key stops with the key named.
    del state['backbone.layer3.2.conv2.weight']
    torch.save({'state_dict': state, 'meta': {}}, ckpt)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    with pytest.raises(RuntimeError, match=r'layer3\.2\.conv2\.weight'):
        model.init_weights()
