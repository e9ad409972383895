# Unlabeled COCO train2017 images with DSC's two coupled views (specs/dsc.md).
# Data: two coupled crops (CoupledRandomResizedCrop, which packs the crop boxes and
# flips for the geometric correspondences) with MoCo v2's photometrics on both views.
# Not inherited from mmpretrain: an `mmpretrain::` dataset base tags `collate_fn` with
# `_scope_` (TypeError at the first batch). Images are BGR until the preprocessor.
dataset_type = 'UnlabeledImageFolder'
data_root = 'data/coco/'
view_pipeline = [
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='CV2ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    # MoCo v2's crop (0.2, 1) and flip p 0.5 per view; view 2 redrawn until IoU > 0.2
    # with view 1 (MGC's rule) so that every pair has cell correspondences.
    dict(type='CoupledRandomResizedCrop', size=224, scale=(0.2, 1.0), min_iou=0.2,
         max_tries=100, flip_prob=0.5, view_pipelines=[view_pipeline, view_pipeline]),
    dict(type='PackInputs', algorithm_keys=['crop_boxes', 'crop_flips'],
         meta_keys=['img_path']),
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
