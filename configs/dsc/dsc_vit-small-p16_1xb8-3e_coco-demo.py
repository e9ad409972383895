# Demo: DSC ViT-S/16 on the 32 COCO images bundled in demo/data/coco/train2017, a short
# single-process CPU/GPU schedule (3 epochs x 4 iterations of 8 images) that writes one
# checkpoint. Same model and pipeline as the COCO config, smaller batch, queue and
# cluster count; fp32 (`--amp` turns mixed precision on where a GPU is present).
_base_ = ['./dsc_vit-small-p16_8xb32-amp-coslr-800e_coco.py']

model = dict(
    # 2 x 8 images x 196 tokens = 3136 momentum cells a step: 64 clusters keep ~49 each,
    # as the R50 demo's 16 clusters of 784 C5 cells.
    num_clusters=64,
    # Sized to a demo's length (~120 steps of 8 images), as the R50 demos: 16 keys = the
    # two previous batches (4,096 would hold their random init for 512 steps), and an EMA
    # starting at 0.99 (mmpretrain's 1 - m: 0.01; 0.996 leaves the target near its init).
    queue_len=16,
    momentum=0.01,
    category_start_iters=0)  # the demo runs all three terms from the first step
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root='demo/data/coco/', data_prefix='train2017/'))

max_epochs = 3
optim_wrapper = dict(type='PerParamClipOptimWrapper', _delete_=True,
                     optimizer=dict(type='AdamW', lr=1e-3 * 8 / 256, betas=(0.9, 0.999),
                                    weight_decay=0.05),
                     clip_grad=dict(max_norm=3.0))
auto_scale_lr = dict(base_batch_size=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-9, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-6, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
log_processor = dict(window_size=1)
