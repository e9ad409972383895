# DSC ResNet-50 on COCO train2017 images, 800 epochs, global batch 256 (8 GPUs x 32),
# SGD lr 0.3: DenseCL's COCO schedule (configs/densecl/), so that the results compare.
# DSC is our implementation of the published description (specs/dsc.md, docs/dsc.md):
# no code was released.
_base_ = [
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='DSC',
    queue_len=65536,
    feat_dim=128,
    # mmpretrain's convention (1 - m): 0.001 is MoCo / DenseCL's momentum 0.999,
    # constant (end_momentum None). Tested in tests/test_models/test_selfsup/test_dsc.py.
    momentum=0.001,
    temperature=0.2,
    instance_weight=0.5,
    pixel_weight=0.5,
    category_weight=0.5,
    # k-means of random-init features is noise: the category term joins at DenseCL's
    # dense warm-up point (1000 iterations).
    category_start_iters=1000,
    correspondence='geometric',  # crop-box cells at the C5 grid (grain 32 at 224)
    view_size=224,
    category='kmeans',  # DSC-KM; 'prototypes' for DSC-PM
    num_clusters=100,
    num_pixels=16,
    category_temperature=0.2,
    kmeans_iters=10,
    kmeans_metric='cosine',
    kmeans_init='kmeans++',
    shuffle_bn=True,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        # Per-GPU BN with shuffle-BN, as DenseCL / MoCo v2.
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='DenseCLNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        num_grid=None))  # the dense projection on the full 7 x 7 C5 grid

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

max_epochs = 800
optim_wrapper = dict(optimizer=dict(lr=0.3))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)
]
train_cfg = dict(max_epochs=max_epochs)
