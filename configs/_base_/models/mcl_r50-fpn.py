# MCL with ResNet-50 + FPN (specs/mcl.md §3): C2..C5 -> FPN 256 ch (BN, no activation)
# -> region head per 7x7 tile -> per-level predictors (online only); backbone, FPN and
# region head have a momentum copy (EMA m = 0.99 -> 1, cosine).
model = dict(
    type='MCL',
    grids=(1, 2, 4, 8),  # level i reads P(5 - i): P5 views, P4/P3/P2 montages
    cells_per_image=(1, 1, 1, 2),  # montages (128, 32, 8, 4) for 128 images a GPU
    downsample_mode='nearest',
    base_momentum=0.01,  # mmpretrain convention: m = 1 - 0.01 = 0.99, cosine to 1
    end_momentum=0.,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=dict(
        type='mmdet.FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=4,
        norm_cfg=dict(type='SyncBN'),
        act_cfg=None),
    # shared_convs: the keys of mmdet's Shared4Conv1FCBBoxHead.shared_convs
    region_head=dict(
        type='TileRegionHead',
        in_channels=256,
        conv_channels=256,
        num_convs=4,
        tile_size=7,
        norm_cfg=dict(type='SyncBN'),
        mlp=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=2048,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bias=False,  # followed by a BN without affine: would cancel
            with_last_bn=True,
            with_last_bn_affine=False,
            with_avg_pool=False,
            norm_cfg=dict(type='SyncBN'))),
    head=dict(
        type='MCLHead',
        level_weights=(1 / 2, 1 / 4, 1 / 8, 1 / 8),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=2048,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bias=True,
            with_last_bn=False,
            with_avg_pool=False,
            norm_cfg=dict(type='SyncBN')),
        # 2 tau CE with tau = 1
        loss=dict(type='InfoNCELoss', temperature=1.0, loss_weight=2.0)))
