# Mask R-CNN R50-FPN on Cityscapes instance segmentation from a ResNet-50 pretraining
# checkpoint: the model of the COCO R50 benchmark (SyncBN everywhere, 4conv1fc) with 8
# classes; data, lr 0.01 for 8 images and schedule of mmdet's own Cityscapes Mask R-CNN
# (8 epochs of the 8x repeated train set, about 24k iterations, step at epoch 7), but
# from the pretraining checkpoint, not from a COCO model.
_base_ = [
    './_base_/mask-rcnn_r50_fpn-syncbn-4conv1fc.py',
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
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[7], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
