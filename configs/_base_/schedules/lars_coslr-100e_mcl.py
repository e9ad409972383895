# specs/mcl.md §5: LARS, lr 16.0 at a global batch of 4096 (scale linearly; each config
# sets its own lr, `--auto-scale-lr` rescales it to the actual batch), momentum 0.9, wd
# 1e-5; BN parameters and biases excluded from decay and from LARS adaptation; 10
# warm-up epochs, cosine to 1e-4 x batch / 4096 (eta_min_ratio, so that it follows the lr);
# global-norm gradient clipping at 500; mixed precision.
lars_paramwise_cfg = dict(
    custom_keys={
        # every BN of backbone, FPN, region head and predictors has 'bn' in its name
        'bn': dict(decay_mult=0, lars_exclude=True),
        'bias': dict(decay_mult=0, lars_exclude=True),
        # the BN of a ResNet downsample branch
        'downsample.1': dict(decay_mult=0, lars_exclude=True),
    })
# bf16 autocast: fp32's exponent range, so no loss scaling (mmengine 0.10 would otherwise
# build an active GradScaler for bf16 too: an extra unscale pass and a host sync per
# step, for nothing). On a GPU without native bf16 (before Ampere) tools/train.py
# switches to float16 with dynamic loss scaling (adapt_optimizer_to_device in
# mgc_mm/utils/config.py).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=dict(enabled=False),
    optimizer=dict(type='LARS', lr=16.0, momentum=0.9, weight_decay=1e-5),
    clip_grad=dict(max_norm=500),
    paramwise_cfg=lars_paramwise_cfg)

max_epochs = 100
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min_ratio=1e-4 / 16,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=4096)
