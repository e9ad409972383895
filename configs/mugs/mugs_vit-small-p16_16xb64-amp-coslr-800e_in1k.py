# Mugs ViT-S/16 on ImageNet-1k, 800 epochs, global batch 1024 (16 GPUs x 64)
# (specs/mugs.md; paper: kNN 75.6 / linear 78.9 / fine-tune 82.6).
_base_ = [
    '../_base_/models/mugs_vit-small-p16.py',
    '../_base_/datasets/imagenet_mugs.py',
    '../_base_/schedules/adamw_coslr_mugs.py',
    '../_base_/default_runtime.py',
]
batch_size = 1024
train_dataloader = dict(batch_size=64)
# 8e-4 x 1024 / 256; `--auto-scale-lr` rescales it to the actual global batch.
optim_wrapper = dict(optimizer=dict(lr=8e-4 * batch_size / 256))
auto_scale_lr = dict(base_batch_size=batch_size)
# Teacher temperature 0.04 -> 0.07 over 30 epochs (spec: 30-50); the GDS prototypes
# frozen in the first epoch (spec: 1-3). EpochSeedHook / ResumeGuardHook: exact resume.
custom_hooks = [
    dict(type='EpochSeedHook'),
    dict(type='ResumeGuardHook'),
    dict(type='MugsTeacherTempHook', warmup_temp=0.04, temp=0.07, warmup_epochs=30),
    dict(type='FreezeLastLayerHook', freeze_epochs=1),
]
