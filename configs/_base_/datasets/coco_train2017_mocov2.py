# Unlabeled COCO train2017 images, two views with the MoCo v2 augmentation: the
# pipeline of DenseCL and MoCo v2 (specs/densecl.md "What the method is"), the same
# steps and parameters as mmpretrain's `_base_/datasets/imagenet_bs32_mocov2.py`,
# with mgc_mm's folder dataset, safe loader and OpenCV jitter / blur (mmpretrain's
# `ColorJitter` with hue > 0 crashes under NumPy 2; `GaussianBlur` goes through PIL).
# Not inherited from mmpretrain: an `mmpretrain::` base would also tag `collate_fn`
# with `_scope_`, which mmengine passes to `default_collate` as an argument (TypeError
# at the first batch).
dataset_type = 'UnlabeledImageFolder'
data_root = 'data/coco/'

# Images are BGR until the data preprocessor (model.data_preprocessor, to_rgb=True):
# grayscale weights in BGR order. Both views: crop (0.2, 1), jitter (0.4, 0.4, 0.4,
# 0.1) p 0.8, grayscale p 0.2, blur sigma (0.1, 2) p 0.5, horizontal flip p 0.5.
view_pipeline = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='CV2ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs', meta_keys=['img_path']),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train2017/',
        pipeline=train_pipeline))
