# Linear probe of a frozen mgc_mm ViT-S/16 on ImageNet-1k: mmpretrain's MoCo v3 linear
# benchmark (SGD lr 12, batch 8 x 128, cosine, 90 epochs, class token ->
# VisionTransformerClsHead), with the backbone swapped for the strict `MGCViT`:
#
#   bash tools/dist_train.sh configs/benchmarks/classification/mgc-vit-s16_linear-8xb128-coslr-90e_in1k.py 8 --pretrained $CKPT
#
# Head count: 8, MGC's ViT-S/16. The attention weights have the same shapes for any
# head count, so a wrong count would load without an error and probe a different
# network (MGCViT refuses a checkpoint whose stored config has another count): a MoCo v3
# checkpoint (12 heads) takes mocov3-vit-s16_linear-... next to this file, a Mugs one
# (`deit-small`, 6 heads) mugs-vit-s16_linear-....
_base_ = 'mmpretrain::mocov3/benchmarks/vit-small-p16_8xb128-linear-coslr-90e_in1k.py'

custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='MGCViT',
        arch=dict(embed_dims=384, num_layers=12, num_heads=8, feedforward_channels=1536),
        img_size=224,
        patch_size=16,
        qkv_bias=True,
        drop_path_rate=0.,
        norm_cfg=dict(type='LN', eps=1e-6),
        out_type='cls_token',  # the class token after the final norm
        final_norm=True,
        out_norm='last',
        frozen_stages=12,  # everything, final norm included: only the head learns
        # `tools/train.py CONFIG --pretrained CKPT` sets the checkpoint; prefix
        # 'backbone.' loads the online branch, `--pretrained-branch momentum` the
        # momentum one. Strict: any missing or unexpected key stops the run.
        init_cfg=dict(type='Pretrained', checkpoint='${PRETRAINED}', prefix='backbone.')))
