import pytest
import torch
from mmengine.registry import DefaultScope
from mmdet.models.roi_heads.bbox_heads import Shared4Conv1FCBBoxHead

from mgc_mm.models.heads import TileRegionHead


def small_head(**kw):
    mlp = dict(type='NonLinearNeck', in_channels=16, hid_channels=32, out_channels=8,
               num_layers=2, with_bias=True, with_last_bias=False, with_last_bn=True,
               with_last_bn_affine=False, with_avg_pool=False, norm_cfg=dict(type='BN1d'))
    return TileRegionHead(in_channels=16, conv_channels=16, mlp=mlp, **kw)


def test_shared_convs_have_the_keys_of_mmdet_4conv1fc_box_head():
    head = TileRegionHead()  # 256 channels, BN
    with DefaultScope.overwrite_default_scope('mmdet'):  # its box coder is mmdet's
        ref = Shared4Conv1FCBBoxHead(in_channels=256, fc_out_channels=1024, roi_feat_size=7,
                                     num_classes=80, norm_cfg=dict(type='BN'))
    assert ref.num_shared_convs == 4 and ref.num_shared_fcs == 1
    ours = {k: v.shape for k, v in head.state_dict().items() if k.startswith('shared_convs.')}
    theirs = {k: v.shape for k, v in ref.state_dict().items() if k.startswith('shared_convs.')}
    assert ours == theirs
    assert sorted(ours)[:6] == [
        'shared_convs.0.bn.bias', 'shared_convs.0.bn.num_batches_tracked',
        'shared_convs.0.bn.running_mean', 'shared_convs.0.bn.running_var',
        'shared_convs.0.bn.weight', 'shared_convs.0.conv.weight']
    assert all(c.conv.bias is None for c in head.shared_convs)
    # A Mask R-CNN 4conv1fc box head loads them strictly.
    sub = {k[len('shared_convs.'):]: v for k, v in head.state_dict().items()
           if k.startswith('shared_convs.')}
    ref.shared_convs.load_state_dict(sub, strict=True)
    # The MLP lives under other names.
    rest = {k.split('.')[0] for k in head.state_dict() if not k.startswith('shared_convs.')}
    assert rest == {'mlp'}
    assert head.mlp.fc0.weight.shape == (2048, 256) and head.mlp.fc1.weight.shape == (256, 2048)
    assert not head.mlp.bn1.affine


def test_tiles_are_independent_zero_padded_at_their_borders():
    torch.manual_seed(0)
    head = small_head().eval()  # eval: BN uses running statistics, rows are independent
    fmap = torch.randn(2, 16, 14, 14)
    out = head([fmap], [2])[0]
    assert out.shape == (8, 8)
    # tile t of image b, alone (the conv pads it with zeros), is row b * 4 + t
    for b in range(2):
        for t in range(4):
            r, c = divmod(t, 2)
            alone = head.forward_tiles(fmap[b:b + 1, :, 7 * r:7 * r + 7, 7 * c:7 * c + 7])
            torch.testing.assert_close(out[b * 4 + t], alone[0], rtol=1e-5, atol=1e-6)
    # changing one tile changes its own embedding only: nothing leaks across borders
    changed = fmap.clone()
    changed[0, :, 7:, 7:] += 1.
    out2 = head([changed], [2])[0]
    diff = (out2 - out).abs().amax(1)
    assert diff[3] > 1e-3 and diff[[0, 1, 2, 4, 5, 6, 7]].max() == 0


def test_several_maps_in_one_pass():
    torch.manual_seed(0)
    head = small_head().eval()
    maps = [torch.randn(3, 16, 7, 7), torch.randn(1, 16, 28, 28)]
    outs = head(maps, [1, 4])
    assert [o.shape for o in outs] == [(3, 8), (16, 8)]
    for m, g, o in zip(maps, [1, 4], outs):
        torch.testing.assert_close(o, head([m], [g])[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='tiles are'):
        head([torch.randn(1, 16, 14, 14)], [1])
    with pytest.raises(ValueError, match='in_channels'):
        TileRegionHead(in_channels=16, conv_channels=16)
