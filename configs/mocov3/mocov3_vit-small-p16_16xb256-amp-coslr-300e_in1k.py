# MoCo v3 ViT-S/16 on ImageNet-1k, 300 epochs, global batch 4096 (16 GPUs x 256): the
# paper's recipe (Chen et al. 2021, "An Empirical Study of Training Self-Supervised Vision
# Transformers") as mmpretrain's mocov3/mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py
# writes it, with mgc_mm's data and runtime. Mirrored, not inherited: that file's
# `mmpretrain::` dataset base tags `collate_fn` with `_scope_`, which mmengine passes to
# `default_collate` as an argument (TypeError at the first batch), and its `ColorJitter`
# with hue > 0 crashes under NumPy 2.
_base_ = ['../_base_/default_runtime.py']

# ------------------------------------------------------------------------------- data
dataset_type = 'UnlabeledImageFolder'
data_root = 'data/imagenet/'
# BYOL's asymmetric views (the paper, Sec. 5 / moco-v3 main_moco.py). Images are BGR
# until the data preprocessor (to_rgb=True): grayscale weights in BGR order. ViTs crop
# (0.08, 1) (ResNets: (0.2, 1)). Blur p 1.0 / 0.1 and solarize p 0 / 0.2 differ per view.
view_pipeline1 = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.), backend='pillow'),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='CV2ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=1.),
    dict(type='Solarize', thr=128, prob=0.),
    dict(type='RandomFlip', prob=0.5),
]
view_pipeline2 = view_pipeline1[:3] + [
    dict(type='CV2GaussianBlur', sigma_range=(0.1, 2.0), prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs', meta_keys=['img_path']),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    # MoCo v3's negatives are the other images of the batch: no short last batch.
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='train/',
                 pipeline=train_pipeline))

# ------------------------------------------------------------------------------ model
temperature = 0.2
model = dict(
    type='MoCoV3',
    # mmpretrain's CosineEMA: key = (1 - m) * key + m * online with m cosine from
    # base_momentum to 0, so 0.01 is the paper's momentum 0.99 -> 1. Tested in
    # tests/test_tools/test_train_mocov3.py.
    base_momentum=0.01,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='MoCoV3ViT',  # fixed 2-D sin-cos position embedding (saved in checkpoints)
        # embed 384, 12 blocks, 12 heads (MGC's ViT-S has 8), MLP 1536. The benchmarks
        # load it with the *_mocov3-vit-s16_* configs (12 heads).
        arch='mocov3-small',
        img_size=224,
        patch_size=16,
        stop_grad_conv1=True),  # frozen random patch projection (the paper's stability trick)
    neck=dict(
        type='NonLinearNeck',  # projector: 3 layers, 4096 hidden, 256 out, BN, no biases
        in_channels=384,
        hid_channels=4096,
        out_channels=256,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_last_bias=False,
        with_avg_pool=False),
    head=dict(
        type='MoCoV3Head',
        predictor=dict(
            type='NonLinearNeck',  # predictor: 2 layers, 4096 hidden, online branch only
            in_channels=256,
            hid_channels=4096,
            out_channels=256,
            num_layers=2,
            with_bias=False,
            with_last_bn=True,
            with_last_bn_affine=False,
            with_last_bias=False,
            with_avg_pool=False),
        # The reference scales the symmetrised InfoNCE by 2 tau.
        loss=dict(type='CrossEntropyLoss', loss_weight=2 * temperature),
        temperature=temperature))

# ------------------------------------------------------------------------- schedule
# AdamW, lr 1.5e-4 x batch / 256 = 2.4e-3 at 4096, wd 0.1 on every parameter (as the
# reference), mixed precision.
# bf16 autocast: fp32's exponent range, so no loss scaling (mmengine 0.10 would otherwise
# build an active GradScaler for bf16 too: an extra unscale pass and a host sync per
# step, for nothing). On a GPU without native bf16 (before Ampere) tools/train.py
# switches to float16 with dynamic loss scaling (adapt_optimizer_to_device in
# mgc_mm/utils/config.py).
# fused=True: one fused AdamW kernel for all parameters (CUDA; CPU from torch 2.4).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=dict(enabled=False),
    optimizer=dict(type='AdamW', lr=1.5e-4 * 4096 / 256, weight_decay=0.1, fused=True))
max_epochs = 300
warmup_epochs = 40
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# lr above is for a global batch of 4096; `--auto-scale-lr` rescales it linearly.
auto_scale_lr = dict(base_batch_size=4096)
# mmpretrain's config sets find_unused_parameters=True; every trainable parameter gets a
# gradient each step (tested), so DDP's extra search for unused ones is left off
# (default_runtime: False).
