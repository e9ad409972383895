# Demo: MGC ViT-S/16 on the 32 COCO images bundled in demo/data/coco/train2017, a
# short single-process CPU/GPU schedule (3 epochs x 4 iterations) that writes a
# checkpoint. Same model and pipeline as the paper config, smaller batch and schedule.
_base_ = ['./mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py']

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root='demo/data/coco/', data_prefix='train2017/'))

max_epochs = 3
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-9, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-6, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
# fp32 on CPU; `--amp` turns mixed precision on where a GPU is present.
optim_wrapper = dict(type='PerParamClipOptimWrapper', _delete_=True,
                     optimizer=dict(type='AdamW', lr=1e-3 * 8 / 256, betas=(0.9, 0.999),
                                    weight_decay=0.05),
                     clip_grad=dict(max_norm=3.0))
default_hooks = dict(
    logger=dict(interval=1),
    # One checkpoint at the end (~1.3 GB with target, projectors and AdamW state).
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
