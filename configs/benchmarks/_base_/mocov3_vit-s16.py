# The MoCo v3 ViT-S/16 backbone for fine-tuning: MGC's (mgc_vit-s16.py: same class, width,
# depth, pyramid, drop path and strict loading) with 12 attention heads instead of 8.
# The head count is not visible in the weights (attn.qkv is 3*384 x 384 for any number of
# heads), so it is set here once and the *_mocov3-vit-s16_* benchmark configs merge this
# over their MGC twin's backbone; MGCViT also refuses a checkpoint whose stored config
# (meta['cfg']) has another head count.
mocov3_vit_s16 = dict(
    # mmpretrain's 'mocov3-small' arch (MoCoV3ViT), written out: mmpretrain's
    # VisionTransformer only knows that name after a MoCoV3ViT has been built.
    arch=dict(embed_dims=384, num_layers=12, num_heads=12, feedforward_channels=1536),
    # `--pretrained PATH` sets the checkpoint; the default is the COCO pretraining run
    # (the same data as MGC's COCO run). The fixed sin-cos position embedding of MoCo v3
    # is a saved tensor like any other and loads (resized where the input size differs).
    init_cfg=dict(
        checkpoint='work_dirs/mocov3_vit-small-p16_8xb32-amp-coslr-800e_coco/epoch_800.pth'))
