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
# fp32 on CPU (`--amp` turns mixed precision on where a GPU is present). Plain SGD at
# lr 0.1, not the paper's LARS: LARS is a large-batch optimizer, and scaled linearly to
# batch 8 (lr 16 x 8 / 4096 = 0.031, trust coefficient 0.001) it moves the weights by
# ~3e-5 of their norm a step, so 120 demo steps leave the loss at chance (measured: the
# level-0 term at 2 ln 8 throughout; with LARS lr 4.0 still at epoch 5). With SGD 0.1 the
# demo learns (README, "MCL": beats its random init on the dense probe). The paper
# configs keep LARS.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-5),
    clip_grad=dict(max_norm=500))
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=1),
    # One checkpoint at the end.
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
