# MCL R50-FPN on COCO train2017 images, 800 epochs, global batch 1024 (8 GPUs x 128);
# LARS lr 16.0 x 1024 / 4096 = 4.0 (specs/mcl.md §5 scaled linearly), cosine to 1e-4 x
# 1024 / 4096, 10 warm-up epochs.
_base_ = [
    '../_base_/models/mcl_r50-fpn.py',
    '../_base_/datasets/coco_train2017_mcl.py',
    '../_base_/schedules/lars_coslr-100e_mcl.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(optimizer=dict(lr=16.0 * 1024 / 4096))
max_epochs = 800
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min_ratio=1e-4 / 16,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=50))
# lr above is for the global batch of 1024; `--auto-scale-lr` rescales it linearly.
auto_scale_lr = dict(base_batch_size=1024)
