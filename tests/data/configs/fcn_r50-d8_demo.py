# The ADE20K FCN R50-D8 benchmark config shrunk for CPU tests: the real dilated
# ResNet-50 and FCN heads, 128-px crops, the bundled COCO images with their real
# semantic masks (133 classes, 0 = unlabeled), 2 iterations, then mIoU.
_base_ = ['../../../configs/benchmarks/mmsegmentation/fcn_r50-d8_4xb4-80k_ade20k-512x512.py']
crop_size = (128, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=133),
    auxiliary_head=dict(num_classes=133))
dataset = dict(
    type='BaseSegDataset',
    data_root='{{ fileDirname }}/../../../demo/data/coco/',  # any cwd
    data_prefix=dict(img_path='train2017', seg_map_path='annotations/semantic_train2017'),
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True,
    metainfo=dict(classes=tuple(f'class_{i}' for i in range(1, 134))),
    indices=4)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset, _delete_=True, pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomResize', scale=(256, 128), ratio_range=(0.8, 1.2), keep_ratio=True),
        dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs'),
    ]))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(dataset, _delete_=True, pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(256, 128), keep_ratio=True),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs'),
    ]))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
