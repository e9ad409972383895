# The VOC07+12 Faster R-CNN R50-C4 benchmark config shrunk for CPU tests: the real
# ResNet-50 (res2..res4 in the backbone, res5 in the RoI head, both from the checkpoint)
# and the benchmark's VOC metric (AP at IoU 0.50:0.95, 11-point: AP, AP50, AP75), on the
# bundled COCO images and boxes (80 classes; no VOC images are bundled), 256-px images,
# fewer proposals and RoIs, 2 iterations.
_base_ = ['../../../configs/benchmarks/mmdetection/faster-rcnn_r50-c4_8xb2-24k_voc0712.py']
model = dict(
    roi_head=dict(bbox_head=dict(num_classes=80)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=30),
                  rcnn=dict(score_thr=-1.0, max_per_img=20)))  # < 0: see the R50 Mask R-CNN demo
data_root = '{{ fileDirname }}/../../../demo/data/coco/'  # any cwd
dataset = dict(type='CocoDataset', data_root=data_root,
               ann_file='annotations/instances_train2017_sample.json',
               data_prefix=dict(img='train2017/'), indices=4)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset, _delete_=True, pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='RandomChoiceResize', scales=[(256, 192), (256, 224)], keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs'),
    ]))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset, _delete_=True, test_mode=True, pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(256, 224), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
    ]))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
