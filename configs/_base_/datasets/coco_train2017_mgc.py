# Unlabeled COCO train2017 images with MGC's two coupled views (specs/mgc.md §1).
dataset_type = 'UnlabeledImageFolder'
data_root = 'data/coco/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# Images are BGR until the data preprocessor: grayscale weights in BGR order.
# View 1: colour jitter p = 0.8, grayscale p = 0.2, blur p = 1.0, no solarize.
view_pipeline1 = [
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='CV2ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0),
]
# View 2: the same jitter and grayscale, blur p = 0.1, solarize p = 0.2 (asymmetric).
view_pipeline2 = view_pipeline1[:2] + [
    dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='CoupledRandomResizedCrop', size=224, scale=(0.2, 1.0), min_iou=0.2,
         max_tries=100, flip_prob=0.5, view_pipelines=[view_pipeline1, view_pipeline2]),
    dict(type='MultiGrainCorrespondences', grains=(16, 32, 112), view_size=224),
    dict(type='PackInputs',
         algorithm_keys=['crop_boxes', 'crop_flips', 'correspondences'],
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
