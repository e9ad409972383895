# DenseCL with ResNet-50: mmpretrain's `DenseCL` + `DenseCLNeck` + `ContrastiveHead`,
# the values of mmpretrain's `densecl/densecl_resnet50_8xb32-coslr-200e_in1k.py`
# (specs/densecl.md). Loss = (1 - loss_lambda) * global + loss_lambda * dense, each
# InfoNCE at tau 0.2 against its own queue of 65536; the dense positives are matched
# by the argmax of the cosine similarity of the C5 (7 x 7) backbone features.
model = dict(
    type='DenseCL',
    queue_len=65536,
    feat_dim=128,
    # mmpretrain >= 1.0 (mmengine's ExponentialMovingAverage): key = (1 - m) * key +
    # m * query, so m = 0.001 is the paper's momentum 0.999. Tested in
    # tests/test_models/test_selfsup/test_densecl_mocov2.py.
    momentum=0.001,
    loss_lambda=0.5,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        # Per-GPU BN, not SyncBN: shuffle-BN (see mocov2_resnet50.py).
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='DenseCLNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        num_grid=None),  # dense head on the full 7 x 7 C5 grid
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2))
