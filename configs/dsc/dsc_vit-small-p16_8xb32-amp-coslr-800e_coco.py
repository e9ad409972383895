# DSC ViT-S/16 on COCO train2017 images, 800 epochs, global batch 256 (8 GPUs x 32): the
# ViT variant of specs/dsc.md ("ViT-S/16 through the same neck"), on MGC's backbone,
# schedule and data size so that it compares with MGC on the ViT benchmarks (whose
# *_mgc-vit-s16_* configs load its checkpoints as they are: same 8-head ViT-S).
# DSC is our implementation of the published description (docs/dsc.md): no code was
# released, and the paper reports no ViT result.
_base_ = [
    '../_base_/models/dsc_resnet50.py',
    '../_base_/datasets/coco_train2017_dsc.py',
    '../_base_/schedules/adamw_coslr-800e_mgc.py',  # MGC's AdamW, warm-up, cosine, AMP
    '../_base_/default_runtime.py',
]

model = dict(
    # ViT recipes' target: cosine EMA 0.996 -> 1 (mmpretrain's 1 - m convention), as MGC.
    momentum=0.004,
    end_momentum=0.,
    # The 14 x 14 token grid (grain 16 at 224) is DSC's "pixel" grid here; pairs from
    # the crop boxes as at C5 (grain_correspondences' table for grain 16).
    # No BatchNorm in a ViT; the neck's are SyncBN over the whole batch (MoCo v3's
    # projector practice): nothing to shuffle.
    shuffle_bn=False,
    backbone=dict(
        _delete_=True,
        type='MoCoV3ViT',  # MGC's ViT-S/16: 8 heads, fixed 2-D sin-cos position embedding
        arch=dict(embed_dims=384, num_layers=12, num_heads=8, feedforward_channels=1536),
        img_size=224,
        patch_size=16,
        qkv_bias=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        drop_path_rate=0.05,
        final_norm=True,
        out_type='featmap',
        stop_grad_conv1=False),
    # DenseCLNeck with SyncBN after each hidden layer. With the plain (BN-free) neck,
    # 120 demo steps left both branches of this ViT below random init on the dense
    # probe (online retrieval 1.46 % / cross-view 9.31 % vs 1.52 / 10.84); with the
    # norm, online 2.27 / 11.83 and momentum 1.58 / 12.40 (README, DSC learning check).
    neck=dict(type='DenseCLBNNeck', in_channels=384, norm_cfg=dict(type='SyncBN')))
