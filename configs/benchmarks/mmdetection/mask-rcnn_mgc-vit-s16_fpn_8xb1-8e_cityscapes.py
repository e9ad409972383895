# Mask R-CNN on Cityscapes instance segmentation from an MGC ViT-S/16 checkpoint
# (paper: 33.2 box AP / 29.4 mask AP). Schedule and heads as mmdet's own Cityscapes
# Mask R-CNN config (8 epochs of the repeated dataset, 8 classes).
_base_ = [
    './_base_/mask-rcnn_mgc-vit-s16_fpn.py',
    'mmdet::_base_/datasets/cityscapes_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    roi_head=dict(
        bbox_head=dict(num_classes=8, loss_bbox=dict(type='SmoothL1Loss', beta=1.0,
                                                     loss_weight=1.0)),
        mask_head=dict(num_classes=8)))
max_epochs = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = {{_base_.det_optim_wrapper}}
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[7], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
