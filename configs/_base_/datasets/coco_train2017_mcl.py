# Unlabeled COCO train2017 images with MCL's eight views (specs/mcl.md §1): four from
# pipeline 1 (query side, one per level), four from pipeline 2 (key side). Montages are
# built on the device by the model (MCL.make_levels), not here.
dataset_type = 'UnlabeledImageFolder'
data_root = 'data/coco/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# Images are BGR until the data preprocessor: grayscale weights in BGR order.
# Pipeline 1: crop, flip, colour jitter p = 0.8, grayscale p = 0.2, blur p = 1.0.
view_pipeline1 = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0),
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='CV2ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=1.0),
]
# Pipeline 2: the same, blur p = 0.1, solarize p = 0.2.
view_pipeline2 = view_pipeline1[:4] + [
    dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    # views 0-3: query side, levels 0-3; views 4-7: key side, levels 0-3
    dict(type='MultiView', num_views=[4, 4], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs', meta_keys=['img_path']),
]

train_dataloader = dict(
    batch_size=128,
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
