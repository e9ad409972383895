# Demo: DSC ResNet-50 on the 32 COCO images bundled in demo/data/coco/train2017, a
# short single-process CPU/GPU schedule (2 epochs x 4 iterations of 8 images) that
# writes one checkpoint. Same model and pipeline as the COCO config, smaller batch,
# queue and cluster count, plain BN (shuffle-BN only matters across GPUs). Queue,
# momentum and lr are sized to a demo's length (a few to ~120 steps), as DenseCL's
# demo: 16 keys (the two previous batches), momentum 0.99 (mmpretrain's 1 - m = 0.01;
# 0.999 would leave the target at its init), lr 0.1 (linear scaling gives 0.0094).
_base_ = ['./dsc_resnet50_8xb32-coslr-800e_coco.py']

model = dict(
    # 2 x 8 images x 49 cells = 784 momentum cells a step: 100 clusters would be
    # ~8 cells each; 16 keeps ~49, closer to the full-size run's ~250.
    num_clusters=16,
    queue_len=16,
    momentum=0.01,
    category_start_iters=0,  # the demo runs all three terms from the first step
    shuffle_bn=False)
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root='demo/data/coco/', data_prefix='train2017/'))

max_epochs = 2
optim_wrapper = dict(optimizer=dict(lr=0.1))
# The lr above is for this batch of 8 already: `--auto-scale-lr` scales from there.
auto_scale_lr = dict(base_batch_size=8)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=1),
    # One checkpoint at the end.
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
# Log each iteration's own losses (the default averages over the last 50).
log_processor = dict(window_size=1)
