# DSC ResNet-50 on COCO train2017 images, 800 epochs, global batch 256 (8 GPUs x 32),
# SGD lr 0.3: DenseCL's COCO schedule (configs/densecl/), so that the results compare.
# DSC is our implementation of the published description (specs/dsc.md, docs/dsc.md):
# no code was released.
_base_ = [
    '../_base_/models/dsc_resnet50.py',
    '../_base_/datasets/coco_train2017_dsc.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]

max_epochs = 800
optim_wrapper = dict(optimizer=dict(lr=0.3))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)
]
train_cfg = dict(max_epochs=max_epochs)
