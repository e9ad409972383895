# DenseCL ResNet-50 on COCO train2017 images, 800 epochs, global batch 256 (8 GPUs x
# 32), SGD lr 0.3: the paper's COCO setting (specs/densecl.md).
_base_ = [
    '../_base_/models/densecl_resnet50.py',
    '../_base_/datasets/coco_train2017_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
max_epochs = 800
optim_wrapper = dict(optimizer=dict(lr=0.3))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)
]
train_cfg = dict(max_epochs=max_epochs)
# Dense loss weight 0 for the first 1000 iterations, then loss_lambda = 0.5: the
# authors' code does this (mmpretrain's DenseCLHook, "borrowed from the authors' code",
# default start_iters=1000; mmpretrain's own DenseCL config leaves the hook out). At
# random init the argmax matches of backbone features are noise, so the dense loss
# starts once the global loss has shaped the features (~2 COCO epochs at batch 256).
# The hook keeps no state: it reads runner.iter, which --resume restores.
custom_hooks = [
    dict(type='EpochSeedHook'),
    dict(type='ResumeGuardHook'),
    dict(type='DenseCLHook', start_iters=1000),
]
