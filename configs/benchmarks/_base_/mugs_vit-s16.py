# The Mugs ViT-S/16 backbone for fine-tuning: MGC's (mgc_vit-s16.py: same class, width,
# depth, pyramid, drop path and strict loading) with 6 attention heads instead of 8.
# Mugs pretrains mgc_mm's SinCosInitViT, mmpretrain's VisionTransformer 'deit-small' with
# MoCo v3's initialisation and the same keys (configs/_base_/models/
# mugs_vit-small-p16.py): 384 wide, 12 layers, 6 heads, MLP 1536, qkv bias, learned
# position embedding, LN eps 1e-6, final norm -- all of it MGC's ViT-S but the head count,
# which the weights do not show (attn.qkv is 3*384 x 384 for any number of heads). So it
# is set here once and the *_mugs-vit-s16_* benchmark configs merge this over their MGC
# twin's backbone; MGCViT also refuses a checkpoint whose stored config (meta['cfg'])
# has another head count.
mugs_vit_s16 = dict(
    # 'deit-small', written out so that the variant differs from its twin in one number.
    arch=dict(embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=1536),
    # `--pretrained PATH` sets the checkpoint; the default is the COCO pretraining run (the
    # same data as MGC's COCO run). Student: `backbone.`; teacher (`--pretrained-branch
    # momentum`): `momentum_encoder.module.backbone.`. The learned position embedding is
    # resized where the input size differs.
    init_cfg=dict(
        checkpoint='work_dirs/mugs_vit-small-p16_8xb64-amp-coslr-800e_coco/epoch_800.pth'))
