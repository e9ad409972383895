# Mugs ViT-B/16 on ImageNet-1k, 400 epochs, global batch 1024 (16 GPUs x 64)
# (specs/mugs.md; paper: kNN 78.0 / linear 80.6 / fine-tune 84.3).
_base_ = [
    '../_base_/models/mugs_vit-base-p16.py',
    '../_base_/datasets/imagenet_mugs.py',
    '../_base_/schedules/adamw_coslr_mugs.py',
    '../_base_/default_runtime.py',
]
batch_size = 1024
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=8e-4 * batch_size / 256))
auto_scale_lr = dict(base_batch_size=batch_size)
max_epochs = 400
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-9, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingWeightDecay', eta_min_ratio=2.5, T_max=max_epochs,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(type='EpochSeedHook'),
    dict(type='ResumeGuardHook'),
    dict(type='MugsTeacherTempHook', warmup_temp=0.04, temp=0.07, warmup_epochs=30),
    dict(type='FreezeLastLayerHook', freeze_epochs=1),
]
