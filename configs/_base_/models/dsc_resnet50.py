# DSC with ResNet-50 (specs/dsc.md): our implementation of the published description,
# no code was released (docs/dsc.md). Shared by the R50 configs and, with MGC's ViT-S
# in place of the ResNet, the ViT-S/16 ones.
model = dict(
    type='DSC',
    queue_len=65536,
    feat_dim=128,
    # mmpretrain's convention (1 - m): 0.001 is MoCo / DenseCL's momentum 0.999,
    # constant (end_momentum None). Tested in tests/test_models/test_selfsup/test_dsc.py.
    momentum=0.001,
    temperature=0.2,
    instance_weight=0.5,
    pixel_weight=0.5,
    category_weight=0.5,
    # k-means of random-init features is noise: the category term joins at DenseCL's
    # dense warm-up point (1000 iterations).
    category_start_iters=1000,
    correspondence='geometric',  # crop-box cells at the C5 grid (grain 32 at 224)
    view_size=224,
    category='kmeans',  # DSC-KM; 'prototypes' for DSC-PM
    num_clusters=100,
    num_pixels=16,
    category_temperature=0.2,
    kmeans_iters=10,
    kmeans_metric='cosine',
    kmeans_init='kmeans++',
    shuffle_bn=True,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        # Per-GPU BN with shuffle-BN, as DenseCL / MoCo v2.
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='DenseCLNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        num_grid=None))  # the dense projection on the full 7 x 7 C5 grid
