# mmseg's Semantic FPN with an MGC ViT-S/16: features after blocks (2, 5, 8, 11), each
# through the pretrained final norm, strides 4/8/16/32 by Feature2Pyramid, then FPN.
# The 40k schedule of the paper: AdamW lr 2e-4, wd 0.01, poly, warm-up 1500 iterations.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/schedules/schedule_40k.py',
    '../../_base_/mgc_vit-s16.py',
]
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
model = dict(
    pretrained=None,
    backbone={{_base_.mgc_vit_s16}},
    neck=dict(
        _delete_=True,
        type='mmpretrain.SequentialNeck',
        necks=[
            {{_base_.mgc_pyramid}},
            dict(type='mmseg.FPN', in_channels=[{{_base_.mgc_embed_dims}}] * 4,
                 out_channels=256, num_outs=4),
        ]))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg={{_base_.mgc_vit_paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=40000, by_epoch=False),
]
