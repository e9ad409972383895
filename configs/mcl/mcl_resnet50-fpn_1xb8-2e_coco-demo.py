# Demo: MCL R50-FPN on the 32 COCO images bundled in demo/data/coco/train2017, a short
# single-process CPU/GPU schedule (2 epochs x 4 iterations of 8 images, 8 views each)
# that writes one checkpoint. Same model and pipeline as the paper config; batch 8 keeps
# a CPU step around 10 s on 2 cores.
_base_ = ['./mcl_resnet50-fpn_8xb128-amp-lars-coslr-800e_coco.py']

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root='demo/data/coco/', data_prefix='train2017/'))

max_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min_ratio=1e-4 / 16,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
# fp32 on CPU (`--amp` turns mixed precision on where a GPU is present); LARS lr
# 16.0 x 8 / 4096.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=16.0 * 8 / 4096, momentum=0.9, weight_decay=1e-5),
    clip_grad=dict(max_norm=500),
    paramwise_cfg={{_base_.lars_paramwise_cfg}})
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=1),
    # One checkpoint at the end.
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
