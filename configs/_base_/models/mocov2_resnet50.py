# MoCo v2 with ResNet-50: mmpretrain's `MoCo` + `MoCoV2Neck` + `ContrastiveHead`,
# the values of mmpretrain's `mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py`.
model = dict(
    type='MoCo',
    queue_len=65536,
    feat_dim=128,
    # mmpretrain >= 1.0 (mmengine's ExponentialMovingAverage): key = (1 - m) * key +
    # m * query, so m = 0.001 is the classic MoCo momentum 0.999. Tested in
    # tests/test_models/test_selfsup/test_densecl_mocov2.py.
    momentum=0.001,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        # Per-GPU BN, not SyncBN: the key branch runs on a batch shuffled across
        # GPUs (shuffle-BN, batch_shuffle_ddp), which is what keeps the BN statistics
        # of a query and of its key apart; SyncBN would pool them again.
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='MoCoV2Neck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        with_avg_pool=True),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2))
