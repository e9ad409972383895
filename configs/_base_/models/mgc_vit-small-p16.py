# MGC with ViT-S/16 (8 heads), specs/mgc.md §3.
# Per grain: Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN(no affine), no biases.
projector = dict(
    type='NonLinearNeck',
    in_channels=384,
    hid_channels=4096,
    out_channels=128,
    num_layers=3,
    with_bias=False,
    with_last_bn=True,
    with_last_bn_affine=False,
    with_last_bias=False,
    with_avg_pool=False,
    norm_cfg=dict(type='SyncBN'))
# Per grain, online branch only: Linear-BN-ReLU-Linear-BN(no affine).
predictor = dict(projector, in_channels=128, num_layers=2)

model = dict(
    type='MGC',
    base_momentum=0.004,  # EMA m = 1 - 0.004 = 0.996, cosine to 1
    end_momentum=0.,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='MoCoV3ViT',  # mmpretrain ViT with fixed 2-D sin-cos position embedding
        arch=dict(embed_dims=384, num_layers=12, num_heads=8, feedforward_channels=1536),
        img_size=224,
        patch_size=16,
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        drop_path_rate=0.05,
        final_norm=True,
        out_type='featmap',
        stop_grad_conv1=False),
    neck=dict(type='MultiGrainNeck', grains=(16, 32, 112), patch_size=16, projector=projector),
    head=dict(
        type='MultiGrainContrastHead',
        grains=(16, 32, 112),
        loss_weights=(10 / 22, 10 / 22, 2 / 22),
        predictor=predictor,
        loss=dict(type='InfoNCELoss', temperature=0.1, reduction='mean')))
