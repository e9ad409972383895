# Mugs with ViT-S/16 (deit-small: 384 wide, 12 layers, 6 heads), specs/mugs.md §2-3.
embed_dims = 384
model = dict(
    type='Mugs',
    base_momentum=0.004,  # mmpretrain convention: EMA m = 1 - 0.004 = 0.996, cosine to 1
    end_momentum=0.,
    # Real multipliers of loss_ids / loss_lgds / loss_gds; 1/3 each = the paper's mean.
    loss_weights=dict(ids=1 / 3, lgds=1 / 3, gds=1 / 3),
    num_global_crops=2,
    include_same_view=False,  # the reference's s != t pairs (spec §5)
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        # mmpretrain's ViT with MoCo v3's initialisation (2-D sin-cos table, qkv and
        # patch ranges) and the position embedding learned from there (spec §2):
        # from mmpretrain's default start, attention is uniform and the CLS-token
        # losses make every patch token alike (docs/mugs.md, "Initialisation").
        type='SinCosInitViT',
        arch='deit-small',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,  # student; the teacher has none
        norm_cfg=dict(type='LN', eps=1e-6),
        final_norm=True,
        out_type='cls_token'),
    # IDS: projector 384 -> 2048 -> 2048 -> 256 (GELU, L2-norm), predictor 256 -> 4096
    # -> 256, InfoNCE tau 0.2 against 65,536 queued teacher targets.
    ids_head=dict(
        type='MugsInstanceHead',
        in_channels=embed_dims,
        hid_channels=2048,
        out_channels=256,
        pred_hid_channels=4096,
        queue_len=65536,
        loss=dict(type='InfoNCELoss', temperature=0.2)),
    # LGDS: relation block (one ViT block of the backbone's width) over the query and
    # its 8 nearest entries of a 65,536-row memory; same projector/predictor/queue shape.
    lgds_head=dict(
        type='MugsLocalGroupHead',
        in_channels=embed_dims,
        num_heads=6,
        feedforward_channels=4 * embed_dims,
        num_neighbours=8,
        memory_len=65536,
        hid_channels=2048,
        out_channels=256,
        pred_hid_channels=4096,
        queue_len=65536,
        loss=dict(type='InfoNCELoss', temperature=0.2)),
    # GDS: DINO head 384 -> 2048 -> 2048 -> 256, L2-norm, weight-normalised 256 -> 65,536;
    # teacher_temp is set per epoch by MugsTeacherTempHook.
    gds_head=dict(
        type='MugsGroupHead',
        in_channels=embed_dims,
        hid_channels=2048,
        bottleneck_channels=256,
        out_channels=65536,
        norm_last_layer=True,
        teacher_temp=0.07,
        loss=dict(type='DINOLoss', student_temp=0.1, center_momentum=0.9)))
