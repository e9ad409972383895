# DenseCL ResNet-50 on ImageNet-1k, 200 epochs, global batch 256 (8 GPUs x 32), SGD
# lr 0.03: the paper's ImageNet setting, mmpretrain's
# densecl_resnet50_8xb32-coslr-200e_in1k.py on mgc_mm's data and runtime.
_base_ = [
    '../_base_/models/densecl_resnet50.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# Dense loss weight 0 for the first 1000 iterations (~0.2 epochs), as in the authors'
# code: see densecl_resnet50_8xb32-coslr-800e_coco.py.
custom_hooks = [
    dict(type='EpochSeedHook'),
    dict(type='ResumeGuardHook'),
    dict(type='DenseCLHook', start_iters=1000),
]
