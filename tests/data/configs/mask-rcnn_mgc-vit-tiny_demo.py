# The COCO Mask R-CNN benchmark config shrunk for CPU tests: tiny ViT, 256-px images, the
# bundled COCO images with their real instance labels, 2 iterations, then COCO evaluation.
_base_ = ['../../../configs/benchmarks/mmdetection/mask-rcnn_mgc-vit-s16_fpn_8xb2-ms-1x_coco.py',
          './_tiny_vit.py']
model = dict(
    backbone=dict(arch={{_base_.tiny_arch}}, out_indices=[0, 1, 2, 3], drop_path_rate=0.),
    neck=dict(necks=[
        {{_base_.tiny_pyramid}},
        dict(type='mmdet.FPN', in_channels=[64] * 4, out_channels=32, num_outs=5),
    ]),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=64),
        mask_roi_extractor=dict(out_channels=32),
        mask_head=dict(in_channels=32, conv_out_channels=32)),
    # Keep every box so that COCO AP is computed after 2 iterations; below 0, not 0, as
    # in the R50 Mask R-CNN demo (foreground probabilities can underflow to exactly 0).
    test_cfg=dict(rcnn=dict(score_thr=-1.0, max_per_img=20)))
data_root = '{{ fileDirname }}/../../../demo/data/coco/'  # any cwd
ann = 'annotations/instances_train2017_sample.json'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(256, 192), (256, 224)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 224), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file=ann, data_prefix=dict(img='train2017/'),
                 indices=4, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file=ann, data_prefix=dict(img='train2017/'),
                 indices=4, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + ann, metric=['bbox', 'segm'])
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1))
