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
            {{_base_.mgc_pyramid}},
            dict(type='mmdet.FPN', in_channels=[{{_base_.mgc_embed_dims}}] * 4,
                 out_channels=256, num_outs=5),
        ]))
# AdamW lr 7.5e-5, wd 0.03, no decay on pos_embed / cls_token / norms (paper protocol);
# children: `optim_wrapper = {{_base_.det_optim_wrapper}}` (replaces mmdet's SGD).
det_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=7.5e-5, betas=(0.9, 0.999), weight_decay=0.03),
    paramwise_cfg={{_base_.mgc_vit_paramwise_cfg}})
