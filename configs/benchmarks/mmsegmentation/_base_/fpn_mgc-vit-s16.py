# mmseg's Semantic FPN with an MGC ViT-S/16: features after blocks (2, 5, 8, 11), each
# through the pretrained final norm, strides 4/8/16/32 by Feature2Pyramid, then FPN.
_base_ = ['mmseg::_base_/models/fpn_r50.py', '../../_base_/mgc_vit-s16.py']
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
model = dict(
    pretrained=None,
    backbone={{_base_.mgc_vit_s16}},
    neck=dict(
        _delete_=True,
        type='mmpretrain.SequentialNeck',
        necks=[
            dict(type='mmseg.Feature2Pyramid', embed_dim={{_base_.mgc_embed_dims}},
                 rescales=[4, 2, 1, 0.5], norm_cfg=dict(type='SyncBN', requires_grad=True)),
            dict(type='mmseg.FPN', in_channels=[{{_base_.mgc_embed_dims}}] * 4,
                 out_channels=256, num_outs=4),
        ]))
