# The ViTPose-S COCO keypoint benchmark config shrunk for CPU tests: tiny ViT, 64x48
# inputs, the bundled COCO val2017 persons with their real keypoints, 2 iterations,
# then COCO keypoint AP (xtcocotools OKS).
_base_ = ['../../../configs/benchmarks/mmpose/td-hm_mgc-vit-s16_8xb64-210e_coco-256x192.py',
          './_tiny_vit.py']
codec = dict(type='UDPHeatmap', input_size=(48, 64), heatmap_size=(12, 16), sigma=2)
model = dict(
    backbone=dict(arch={{_base_.tiny_arch}}, img_size=(64, 48), out_indices=[3],
                  drop_path_rate=0.),
    head=dict(in_channels=64, deconv_out_channels=(32, 32), decoder=codec),
    test_cfg=dict(flip_test=False))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=4))
data_root = '{{ fileDirname }}/../../../demo/data/coco_keypoints/'  # any cwd
ann = 'annotations/person_keypoints_val2017.json'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size'], use_udp=True),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file=ann, data_prefix=dict(img='val2017/'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file=ann, data_prefix=dict(img='val2017/'),
                 bbox_file=None, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + ann)
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
