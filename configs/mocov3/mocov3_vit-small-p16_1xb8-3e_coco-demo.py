# Demo: MoCo v3 ViT-S/16 on the 32 COCO images bundled in demo/data/coco/train2017, a
# short single-process CPU/GPU schedule (3 epochs x 4 iterations) that writes a
# checkpoint. Same model and views as the COCO config, smaller batch and schedule.
_base_ = ['./mocov3_vit-small-p16_8xb32-amp-coslr-800e_coco.py']

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root='demo/data/coco/', data_prefix='train2017/'))

max_epochs = 3
# One warm-up epoch, then cosine (the recipe's shape, shortened).
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
# fp32 (mmengine's AmpOptimWrapper refuses CPU); `--amp` turns mixed precision on where a
# GPU is present. lr 1.5e-4 x 8 / 256, the paper's rule at this batch.
optim_wrapper = dict(type='OptimWrapper', _delete_=True,
                     optimizer=dict(type='AdamW', lr=1.5e-4 * 8 / 256, weight_decay=0.1))
# The lr above is for this batch of 8 already: `--auto-scale-lr` scales from there.
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=1),
    # One checkpoint at the end.
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
# Log each iteration's own losses (the default averages over the last 50).
log_processor = dict(window_size=1)
