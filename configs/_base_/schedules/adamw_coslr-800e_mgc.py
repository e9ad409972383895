# specs/mgc.md §5: AdamW, lr 1e-3 x batch / 256, wd 0.05, 10 warm-up epochs then cosine
# to 1e-6 (both per iteration), per-tensor gradient clipping at 3.0, mixed precision.
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
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05,
                   fused=True),
    clip_grad=dict(max_norm=3.0))

max_epochs = 800
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-9, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# lr above is for a global batch of 256; `--auto-scale-lr` rescales it linearly.
auto_scale_lr = dict(base_batch_size=256)
