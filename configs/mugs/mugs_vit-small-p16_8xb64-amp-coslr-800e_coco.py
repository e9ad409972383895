# Mugs ViT-S/16 on COCO train2017 (118k images), 800 epochs, global batch 512 (8 GPUs x
# 64): the ImageNet recipe on MGC's pretraining data, so that the two compare on the
# dense benchmarks (configs/benchmarks/, `--pretrained`).
_base_ = [
    '../_base_/models/mugs_vit-small-p16.py',
    '../_base_/datasets/coco_train2017_mugs.py',
    '../_base_/schedules/adamw_coslr_mugs.py',
    '../_base_/default_runtime.py',
]
batch_size = 512
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=8e-4 * batch_size / 256))
auto_scale_lr = dict(base_batch_size=batch_size)
custom_hooks = [
    dict(type='EpochSeedHook'),
    dict(type='ResumeGuardHook'),
    dict(type='MugsTeacherTempHook', warmup_temp=0.04, temp=0.07, warmup_epochs=30),
    dict(type='FreezeLastLayerHook', freeze_epochs=1),
]
