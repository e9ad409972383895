# mmdet's Mask R-CNN with an MGC ViT-S/16: features after blocks [3, 5, 7, 11], each
# through the pretrained final norm, turned into strides 4/8/16/32 by mmseg's
# Feature2Pyramid, then FPN (specs/mgc.md §6).
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', '../../_base_/mgc_vit-s16.py']
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
model = dict(
    backbone={{_base_.mgc_vit_s16}},
    neck=dict(
        _delete_=True,
        type='mmpretrain.SequentialNeck',
        necks=[
            dict(type='mmseg.Feature2Pyramid', embed_dim={{_base_.mgc_embed_dims}},
                 rescales=[4, 2, 1, 0.5], norm_cfg=dict(type='SyncBN', requires_grad=True)),
            dict(type='mmdet.FPN', in_channels=[{{_base_.mgc_embed_dims}}] * 4,
                 out_channels=256, num_outs=5),
        ]))
