# UperNet, 160k iterations, ADE20K 512x512, from an MGC ViT-S/16 checkpoint.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    '../_base_/mgc_vit-s16.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
crop_size = (512, 512)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone={{_base_.mgc_vit_s16}},
    neck={{_base_.mgc_pyramid}},
    decode_head=dict(in_channels=[{{_base_.mgc_embed_dims}}] * 4, num_classes=150, channels=512),
    auxiliary_head=dict(in_channels={{_base_.mgc_embed_dims}}, num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg={{_base_.mgc_vit_paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
