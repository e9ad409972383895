# Demo: MoCo v2 ResNet-50 on the 32 COCO images bundled in demo/data/coco/train2017,
# a short single-process CPU/GPU schedule (2 epochs x 4 iterations) that writes a
# checkpoint. Same model and pipeline as the COCO config, smaller batch and schedule.
_base_ = ['./mocov2_resnet50_8xb32-coslr-800e_coco.py']

# Scaled to a demo's length (a few to ~120 steps of 8 images), not to the paper's: a
# 65,536-key queue would hold its random init for 8,192 steps, and momentum 0.999 (time
# constant 1,000 steps) would leave the key encoder at its init. 16 keys = the two
# previous batches (so nearly every negative is another image, recently encoded), and
# momentum 0.99 (mmpretrain's convention 1 - m: 0.01).
#
# The projector carries BN (fc-BN-ReLU-fc, mmpretrain's NonLinearNeck: SimCLR's and
# MoCo v3's shape) where MoCo v2's has none. Measured on this demo: with MoCo v2's
# BN-free MoCoV2Neck the embeddings of different images collapse onto one direction
# (mean cosine 0.956 at init, 0.9999 after 120 steps; InfoNCE at chance, ln 17) and the
# backbone probes below random init at lr 0.1 and 0.03 and EMA 0.99 and 0.9; with BN
# it beats random init (README, R50 learning check). The full configs keep MoCo v2's
# neck, so that they reproduce the published baseline.
model = dict(
    queue_len=16,
    momentum=0.01,
    neck=dict(type='NonLinearNeck', _delete_=True, in_channels=2048, hid_channels=2048,
              out_channels=128, num_layers=2, with_bias=False, with_last_bn=False,
              with_avg_pool=True, norm_cfg=dict(type='SyncBN')))
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root='demo/data/coco/', data_prefix='train2017/'))

max_epochs = 2
# lr 0.1 for this batch of 8, as MCL's demo: the linear scaling of 0.3 @ 256 (0.0094)
# barely moves a ResNet-50 in a demo's ~100 steps (0.03 learned less than 0.1, measured
# with the dense probe). `--auto-scale-lr` scales from here.
optim_wrapper = dict(optimizer=dict(lr=0.1))
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
