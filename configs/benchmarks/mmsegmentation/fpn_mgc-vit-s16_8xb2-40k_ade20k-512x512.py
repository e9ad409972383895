# Semantic FPN, 40k iterations, ADE20K 512x512, from an MGC ViT-S/16 checkpoint
# (paper: 37.7 mIoU from COCO pretraining). AdamW lr 2e-4, wd 0.01, poly schedule,
# warm-up 1500 iterations, blocks (2, 5, 8, 11).
_base_ = [
    './_base_/fpn_mgc-vit-s16.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(out_indices=[2, 5, 8, 11]),
    decode_head=dict(num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg={{_base_.mgc_vit_paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=40000, by_epoch=False),
]
# 8 GPUs x 2 images = 16 per iteration
train_dataloader = dict(batch_size=2)
