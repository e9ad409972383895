# Mask R-CNN R50-FPN 1x on COCO from a ResNet-50 pretraining checkpoint (DenseCL, MoCo
# v2, MCL, DSC; backbone only, the protocol every method is compared on): SyncBN in
# backbone, FPN and heads, 4conv1fc box head, multi-scale training (shorter side
# 640..800, step 32, as Detectron2's / mmdet's ms-poly configs), SGD lr 0.02 for 16
# images, warm-up 1000 iterations, steps at 8 and 11 of 12 epochs.
_base_ = [
    './_base_/mask-rcnn_r50_fpn-syncbn-4conv1fc.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(640, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
