# specs/mugs.md §4: AdamW (0.9, 0.999), lr 8e-4 x batch / 256 (set per config), 10
# warm-up epochs then cosine to 1e-6 (both per iteration); weight decay cosine
# 0.04 -> 0.1; no decay on biases and 1-D parameters (norm weights); patch-embedding
# lr x 0.2; per-tensor gradient clipping 3.0; mixed precision.
base_lr = 8e-4  # per 256 images
# bf16 autocast: fp32's exponent range, so no loss scaling (mmengine 0.10 would otherwise
# build an active GradScaler for bf16 too: an extra unscale pass and a host sync per
# step, for nothing). On a GPU without native bf16 (before Ampere) tools/train.py
# switches to float16 with dynamic loss scaling (adapt_optimizer_to_device in
# mgc_mm/utils/config.py).
# fused=True: one fused AdamW kernel for all parameters (CUDA; CPU from torch 2.4).
optim_wrapper = dict(
    type='PerParamClipAmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=dict(enabled=False),
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=0.04,
                   fused=True),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(
        # Every 1-D parameter of Mugs is a bias or a LayerNorm weight. The position
        # embedding and CLS token are 3-D: DINO / Mugs decay them (their rule is
        # "bias or 1-D"), so they get no custom key here.
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        # Patch embedding lr x 0.2. A matching custom key replaces the rules above,
        # so its bias gets decay_mult=0 here. (Also matches the teacher's patch
        # embedding, which has no gradient.)
        custom_keys={
            'backbone.patch_embed.projection.weight': dict(lr_mult=0.2),
            'backbone.patch_embed.projection.bias': dict(lr_mult=0.2, decay_mult=0.),
        }))

max_epochs = 800
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-9, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
    # mmpretrain's: 0.04 -> 0.04 x 2.5 = 0.1 over the whole run (groups with no decay
    # stay at 0).
    dict(type='CosineAnnealingWeightDecay', eta_min_ratio=2.5, T_max=max_epochs,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
