# Demo: DenseCL ResNet-50 on the 32 COCO images bundled in demo/data/coco/train2017,
# a short single-process CPU/GPU schedule (2 epochs x 4 iterations) that writes a
# checkpoint. Same model and pipeline as the COCO config, smaller batch and schedule.
_base_ = ['./densecl_resnet50_8xb32-coslr-800e_coco.py']

# Scaled to a demo's length (a few to ~120 steps of 8 images), not to the paper's: a
# 65,536-key queue would hold its random init for 8,192 steps, and momentum 0.999 (time
# constant 1,000 steps) would leave the key encoder at its init. 16 keys = the two
# previous batches (so nearly every negative is another image, recently encoded), and
# momentum 0.99 (mmpretrain's convention 1 - m: 0.01).
#
# The neck carries BN after each hidden layer (mgc_mm's DenseCLBNNeck, DenseCLNeck's
# outputs): measured on this demo, with DenseCL's BN-free neck the online backbone
# probes below random init after 120 steps (retrieval 0.53 vs 0.65 %), with BN both
# branches beat it (README, R50 learning check). The full configs keep DenseCL's neck.
model = dict(queue_len=16, momentum=0.01,
             neck=dict(type='DenseCLBNNeck', norm_cfg=dict(type='SyncBN')))
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root='demo/data/coco/', data_prefix='train2017/'))

max_epochs = 2
# lr 0.1 for this batch of 8, as MCL's demo: the linear scaling of 0.3 @ 256 (0.0094)
# barely moves a ResNet-50 in a demo's ~100 steps (0.03 learned less than 0.1, measured
# with the dense probe). `--auto-scale-lr` scales from here.
optim_wrapper = dict(optimizer=dict(lr=0.1))
auto_scale_lr = dict(base_batch_size=8)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
# The dense loss joins after the first epoch (4 iterations) instead of 1000 iterations,
# so that the demo runs both phases.
custom_hooks = [
    dict(type='EpochSeedHook'),
    dict(type='ResumeGuardHook'),
    dict(type='DenseCLHook', start_iters=4),
]
default_hooks = dict(
    logger=dict(interval=1),
    # One checkpoint at the end.
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
# Log each iteration's own losses (the default averages over the last 50).
log_processor = dict(window_size=1)
