"""Strict loading of the downstream R50 parts: PretrainedResNet (mmdet / mmseg),
PretrainedResLayer (res5 of R50-C4), PretrainedFPN and
PretrainedShared4Conv1FCBBoxHead (MCL full transfer)."""
import pytest
import torch
from mmdet.models.necks import FPN
from mmdet.models.roi_heads.bbox_heads import Shared4Conv1FCBBoxHead
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import DefaultScope
from mmpretrain.models import ResNet as MMPretrainResNet
from mmseg.registry import MODELS as MMSEG_MODELS

from mgc_mm.models.backbones import PretrainedResLayer, PretrainedResNet
from mgc_mm.models.heads import PretrainedShared4Conv1FCBBoxHead
from mgc_mm.models.necks import PretrainedFPN
from mgc_mm.models.utils.strict_init import PRETRAINED_PLACEHOLDER

BN = dict(type='BN')


def randomised(state):
    """Every tensor replaced by random values, so that a loaded value can only come
    from the checkpoint."""
    return {k: torch.randn_like(v) if v.is_floating_point() else torch.randint_like(v, 1, 99)
            for k, v in state.items()}


def save(tmp_path, state, name='ckpt.pth'):
    path = tmp_path / name
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def with_prefix(state, prefix):
    return {prefix + k: v for k, v in state.items()}


@pytest.fixture(scope='module')
def r50_state():
    """An mmpretrain ResNet-50 (what DenseCL, MoCo v2, MCL and DSC pretrain)."""
    torch.manual_seed(0)
    return randomised(MMPretrainResNet(depth=50).state_dict())


def pretrained(path, prefix='backbone.'):
    return dict(type='Pretrained', checkpoint=path, prefix=prefix)


def assert_loaded(module, expected):
    got = module.state_dict()
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert torch.equal(got[k], v), k


def test_registered_in_mmdet_and_mmseg():
    assert MMDET_MODELS.get('PretrainedResNet') is PretrainedResNet
    assert MMSEG_MODELS.get('PretrainedResNet') is PretrainedResNet
    for cls in (PretrainedResLayer, PretrainedFPN, PretrainedShared4Conv1FCBBoxHead):
        assert MMDET_MODELS.get(cls.__name__) is cls


@pytest.mark.parametrize('prefix', ['backbone.', 'momentum_encoder.module.backbone.'])
def test_resnet50_loads_every_mmpretrain_tensor(tmp_path, r50_state, prefix):
    other = randomised(r50_state)  # the other branch: must not be taken
    other_prefix = 'backbone.' if prefix != 'backbone.' else 'momentum_encoder.module.backbone.'
    path = save(tmp_path, {**with_prefix(r50_state, prefix), **with_prefix(other, other_prefix),
                           'neck.mlp.0.weight': torch.randn(4, 4)})
    net = PretrainedResNet(depth=50, init_cfg=pretrained(path, prefix))
    net.init_weights()
    assert len(r50_state) == 318
    assert_loaded(net, r50_state)


@pytest.mark.parametrize('alias', ['encoder_k.module.0.', 'momentum_encoder.module.0.'])
def test_momentum_prefix_finds_mmpretrain_layouts(tmp_path, r50_state, alias):
    # mmpretrain's MoCo / DenseCL (encoder_k) and BYOL / MoCo v3 (momentum_encoder) keep
    # the momentum backbone as item 0 of EMA(Sequential(backbone, neck)).
    path = save(tmp_path, {**with_prefix(randomised(r50_state), 'backbone.'),
                           **with_prefix(r50_state, alias)})
    net = PretrainedResNet(depth=50,
                           init_cfg=pretrained(path, 'momentum_encoder.module.backbone.'))
    net.init_weights()
    assert_loaded(net, r50_state)


def test_missing_and_unexpected_keys_are_named(tmp_path, r50_state):
    state = dict(r50_state)
    del state['layer3.2.conv2.weight']
    state['layer5.0.conv1.weight'] = torch.zeros(1)
    net = PretrainedResNet(depth=50, init_cfg=pretrained(save(tmp_path, with_prefix(state,
                                                                                  'backbone.'))))
    with pytest.raises(RuntimeError, match=r'missing keys \[.layer3\.2\.conv2\.weight.\], '
                                           r'unexpected keys \[.layer5\.0\.conv1\.weight.\]'):
        net.init_weights()


def test_resnet18_checkpoint_into_resnet50_stops(tmp_path):
    path = save(tmp_path, with_prefix(MMPretrainResNet(depth=18).state_dict(), 'backbone.'))
    # torch names the first tensors of the wrong shape (before the missing ones)
    with pytest.raises(RuntimeError, match=r'size mismatch for layer1\.0\.conv1\.weight'):
        PretrainedResNet(depth=50, init_cfg=pretrained(path)).init_weights()


def test_vit_checkpoint_stops_in_one_line(tmp_path):
    from mmpretrain.models import VisionTransformer
    vit = VisionTransformer(arch=dict(embed_dims=64, num_layers=2, num_heads=4,
                                      feedforward_channels=128), img_size=64)
    path = save(tmp_path, with_prefix(vit.state_dict(), 'backbone.'))
    with pytest.raises(ValueError) as err:
        PretrainedResNet(depth=50, init_cfg=pretrained(path)).init_weights()
    msg = str(err.value)
    assert '\n' not in msg
    assert 'is a ViT checkpoint' in msg and 'use a ViT benchmark config' in msg


@pytest.mark.parametrize('checkpoint', [PRETRAINED_PLACEHOLDER, None])
def test_no_checkpoint_given_says_how(checkpoint):
    net = PretrainedResNet(depth=50, init_cfg=pretrained(checkpoint))
    with pytest.raises(ValueError, match='--pretrained CKPT'):
        net.init_weights()


def test_wrong_prefix_lists_what_is_there(tmp_path, r50_state):
    path = save(tmp_path, with_prefix(r50_state, 'backbone.'))
    with pytest.raises(KeyError, match=r"no key starting with 'encoder\.'.*'backbone'"):
        PretrainedResNet(depth=50, init_cfg=pretrained(path, 'encoder.')).init_weights()


def test_without_pretrained_it_is_mmdet_resnet():
    torch.manual_seed(0)
    net = PretrainedResNet(depth=50)
    net.init_weights()  # mmdet's default init (Kaiming, zero-init residual BN)
    assert torch.all(net.layer1[0].bn3.weight == 0)


def test_r50_c4_backbone_and_res5_head_share_the_checkpoint(tmp_path, r50_state):
    path = save(tmp_path, with_prefix(r50_state, 'backbone.'))
    c4 = PretrainedResNet(depth=50, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                          out_indices=(2, ), init_cfg=pretrained(path))
    res5 = PretrainedResLayer(depth=50, stage=3, init_cfg=pretrained(path))
    c4.init_weights()
    res5.init_weights()
    got = {**c4.state_dict(), **res5.state_dict()}
    assert set(got) == set(r50_state)
    for k, v in r50_state.items():
        assert torch.equal(got[k], v), k


def mmdet_scope():
    # the box head builds its coder and losses from mmdet's registries
    return DefaultScope.overwrite_default_scope('mmdet')


def fpn_and_convs():
    fpn = FPN([256, 512, 1024, 2048], 256, 5, norm_cfg=BN)
    with mmdet_scope():
        head = Shared4Conv1FCBBoxHead(conv_out_channels=256, norm_cfg=BN)
    return randomised(fpn.state_dict()), randomised(head.shared_convs.state_dict())


def test_fpn_and_shared_convs_load_exactly_and_only_them(tmp_path):
    fpn_state, convs_state = fpn_and_convs()
    mlp = {'region_head.mlp.mlp.0.weight': torch.randn(2048, 256),
           'region_head.mlp.bn0.weight': torch.randn(2048)}
    path = save(tmp_path, {**with_prefix(fpn_state, 'neck.'),
                           **with_prefix(convs_state, 'region_head.shared_convs.'), **mlp})
    fpn = PretrainedFPN([256, 512, 1024, 2048], 256, 5, norm_cfg=dict(type='SyncBN'),
                        init_cfg=pretrained(path, 'neck.'))
    fpn.init_weights()
    assert_loaded(fpn, fpn_state)
    torch.manual_seed(0)
    with mmdet_scope():
        head = PretrainedShared4Conv1FCBBoxHead(
            conv_out_channels=256, norm_cfg=dict(type='SyncBN'),
            init_cfg=pretrained(path, 'region_head.'))
    head.init_weights()
    assert_loaded(head.shared_convs, convs_state)
    # mmdet's init of the rest, as without a Pretrained entry
    assert head.fc_cls.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.all(head.fc_reg.bias == 0) and torch.all(head.shared_fcs[0].bias == 0)


def test_fpn_without_norm_in_checkpoint_stops(tmp_path):
    plain = FPN([256, 512, 1024, 2048], 256, 5).state_dict()  # conv bias, no BN
    path = save(tmp_path, with_prefix(plain, 'neck.'))
    fpn = PretrainedFPN([256, 512, 1024, 2048], 256, 5, norm_cfg=BN,
                        init_cfg=pretrained(path, 'neck.'))
    with pytest.raises(RuntimeError, match=r"missing keys \['fpn_convs\.0\.bn\.bias'"):
        fpn.init_weights()


def test_shared_convs_missing_in_region_head_stops(tmp_path):
    _, convs_state = fpn_and_convs()
    del convs_state['3.bn.running_var']
    path = save(tmp_path, with_prefix(convs_state, 'region_head.shared_convs.'))
    with mmdet_scope():
        head = PretrainedShared4Conv1FCBBoxHead(conv_out_channels=256, norm_cfg=BN,
                                                init_cfg=pretrained(path, 'region_head.'))
    with pytest.raises(RuntimeError, match=r"missing keys \['3\.bn\.running_var'\]"):
        head.init_weights()
