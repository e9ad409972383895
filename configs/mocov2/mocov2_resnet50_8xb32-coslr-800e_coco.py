# MoCo v2 ResNet-50 on COCO train2017 images, 800 epochs, global batch 256 (8 GPUs x
# 32), SGD lr 0.3: DenseCL's COCO baseline, the same schedule and pipeline as
# configs/densecl/densecl_resnet50_8xb32-coslr-800e_coco.py.
_base_ = [
    '../_base_/models/mocov2_resnet50.py',
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
