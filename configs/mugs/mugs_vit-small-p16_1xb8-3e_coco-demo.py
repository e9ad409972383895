# Demo: Mugs ViT-S/16 on the 32 COCO images bundled in demo/data/coco/train2017, a short
# single-process CPU/GPU schedule (3 epochs x 4 iterations) that writes a checkpoint.
# Same backbone, heads, 14 crops and hooks as the COCO config; smaller batch, schedule,
# and banks: with 8 images a step, 65,536-row queues / memories would hold noise for
# 4,096 steps and 65,536 prototypes would cost most of the step time on CPU, so the
# demo uses 1,024-row queues and memories (filled after 64 steps) and 4,096 prototypes.
_base_ = ['./mugs_vit-small-p16_8xb64-amp-coslr-800e_coco.py']

model = dict(
    ids_head=dict(queue_len=1024),
    lgds_head=dict(queue_len=1024, memory_len=1024),
    gds_head=dict(out_channels=4096))
batch_size = 8
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root='demo/data/coco/', data_prefix='train2017/'))

max_epochs = 3
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-9, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-6, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingWeightDecay', eta_min_ratio=2.5, T_max=max_epochs,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
# fp32 on CPU; `--amp` turns mixed precision on where a GPU is present.
optim_wrapper = dict(type='PerParamClipOptimWrapper', _delete_=True,
                     optimizer=dict(type='AdamW', lr=8e-4 * batch_size / 256,
                                    betas=(0.9, 0.999), weight_decay=0.04),
                     clip_grad=dict(max_norm=3.0),
                     paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
auto_scale_lr = dict(base_batch_size=batch_size)
# Warm-up of the teacher temperature over the first 2 epochs, prototypes frozen in
# the first: both hooks act within the demo.
custom_hooks = [
    dict(type='EpochSeedHook'),
    dict(type='ResumeGuardHook'),
    dict(type='MugsTeacherTempHook', warmup_temp=0.04, temp=0.07, warmup_epochs=2),
    dict(type='FreezeLastLayerHook', freeze_epochs=1),
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
