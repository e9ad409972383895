# MGC ViT-S/16 on ImageNet-1k, 200 epochs, global batch 512 (16 GPUs x 32),
# 30 warm-up epochs, drop path 0.1 (specs/mgc.md §3, §5).
_base_ = [
    '../_base_/models/mgc_vit-small-p16.py',
    '../_base_/datasets/imagenet_mgc.py',
    '../_base_/schedules/adamw_coslr-800e_mgc.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(drop_path_rate=0.1))
max_epochs = 200
warmup_epochs = 30
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-9, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
# 1e-3 x 512 / 256
optim_wrapper = dict(optimizer=dict(lr=2e-3))
auto_scale_lr = dict(base_batch_size=512)
