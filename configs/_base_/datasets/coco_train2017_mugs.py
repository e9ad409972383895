# Unlabeled COCO train2017 images with Mugs' 14 crops (specs/mugs.md §1): per sample
# `inputs` = [teacher_global_0, teacher_global_1, student_global_0, student_global_1,
# local_0 .. local_9] (globals 224, locals 96) and `data_samples[i].weak_aug`, a
# (14,) bool tensor, True where the view was weakly augmented (teacher views always;
# the two student globals share one draw, so entries 2 and 3 are equal: the per-sample
# weak flag of the student memory).
# Not inherited from mmpretrain: an `mmpretrain::` base would also tag `collate_fn`
# with `_scope_`, which mmengine passes to `default_collate` as an argument.
dataset_type = 'UnlabeledImageFolder'
data_root = 'data/coco/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

global_size = 224
local_size = 96
num_local_crops = 10
strong_prob = 0.5  # probability of the strong pipeline, student views only

# Images are BGR until the data preprocessor: grayscale weights, RandAugment's fill
# and random erasing's noise in BGR order.
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
global_crop = dict(type='RandomResizedCrop', scale=global_size, crop_ratio_range=(0.25, 1.),
                   interpolation='bicubic', backend='pillow')
local_crop = dict(type='RandomResizedCrop', scale=local_size, crop_ratio_range=(0.05, 0.25),
                  interpolation='bicubic', backend='pillow')
flip = dict(type='RandomFlip', prob=0.5)
# Weak: jitter (0.4, 0.4, 0.2, 0.1) p 0.8, grayscale p 0.2 (DINO's recipe).
color = [
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='CV2ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
# Strong: timm's 'rand-m9-mstd0.5-inc1' (2 ops, magnitude 9 +- 0.5, the increasing
# op set; fill = the mean colour as the reference) and timm's random erasing 0.25
# 'pixel' mode (per-pixel normal noise = N(0, 1) after normalisation), both on uint8
# BGR crops before packing: mmpretrain's RandomErasing writes uint8 patches, so it
# must run before the data preprocessor normalises.
strong_aug = [
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[104, 116, 124])),
    dict(type='RandomErasing', erase_prob=0.25, min_area_ratio=0.02, max_area_ratio=1 / 3,
         aspect_range=0.3, mode='rand', fill_color=bgr_mean, fill_std=bgr_std),
]
weak_global_0 = [global_crop, flip, *color, dict(type='CV2GaussianBlur', prob=1.0)]
weak_global_1 = [global_crop, flip, *color, dict(type='CV2GaussianBlur', prob=0.1),
                 dict(type='Solarize', thr=128, prob=0.2)]
strong_global = [global_crop, flip, *strong_aug]
weak_local = [local_crop, flip, *color, dict(type='CV2GaussianBlur', prob=0.5)]
strong_local = [local_crop, flip, *strong_aug]

train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='MultiViewWithKeys', keys=['weak_aug'], num_views=[1, 1, 1, num_local_crops],
         transforms=[
             # Teacher: always weak.
             [dict(type='WeakStrongAug', weak=weak_global_0, strong_prob=0.)],
             [dict(type='WeakStrongAug', weak=weak_global_1, strong_prob=0.)],
             # Student globals: two new crops, one weak/strong draw for both
             # (weak = the two teacher recipes, strong = two strong crops).
             [dict(type='WeakStrongAug', strong_prob=strong_prob,
                   weak=[dict(type='MultiViewWithKeys', keys=[], num_views=[1, 1],
                              transforms=[weak_global_0, weak_global_1])],
                   strong=[dict(type='MultiViewWithKeys', keys=[], num_views=2,
                                transforms=[strong_global])])],
             # Locals: one draw each.
             [dict(type='WeakStrongAug', weak=weak_local, strong=strong_local,
                   strong_prob=strong_prob)],
         ]),
    dict(type='PackInputs', algorithm_keys=['weak_aug'], meta_keys=['img_path']),
]

train_dataloader = dict(
    batch_size=64,
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
