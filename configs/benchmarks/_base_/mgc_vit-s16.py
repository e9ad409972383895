# The MGC ViT-S/16 backbone for fine-tuning, shared by the mmdet / mmseg / mmpose
# benchmark configs (`backbone={{_base_.mgc_vit_s16}}` replaces the toolbox's backbone).
mgc_vit_s16 = dict(
    _delete_=True,
    type='mmpretrain.MGCViT',
    arch=dict(embed_dims=384, num_layers=12, num_heads=8, feedforward_channels=1536),
    img_size=224,
    patch_size=16,
    qkv_bias=True,
    drop_path_rate=0.1,
    norm_cfg=dict(type='LN', eps=1e-6),
    out_indices=[3, 5, 7, 11],
    out_type='featmap',
    final_norm=True,
    out_norm='all',  # the pretrained final norm on every pyramid input
    # `tools/train.py CONFIG --pretrained PATH` sets the checkpoint. prefix 'backbone.'
    # loads the online branch, 'momentum_encoder.module.backbone.' the momentum branch
    # (`--pretrained-branch momentum`).
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/mgc_vit-small-p16_8xb32-amp-coslr-800e_coco/epoch_800.pth',
        prefix='backbone.'))
mgc_embed_dims = 384
# Strides 4/8/16/32 from the stride-16 ViT maps: ConvT-Norm-GELU-ConvT / ConvT / identity /
# max-pool, mmseg's Feature2Pyramid (the first part of `mmpretrain.SequentialNeck`).
mgc_pyramid = dict(type='mmseg.Feature2Pyramid', embed_dim=384, rescales=[4, 2, 1, 0.5],
                   norm_cfg=dict(type='SyncBN', requires_grad=True))
# No weight decay on the position embedding, class token and norm layers (paper
# protocol): `paramwise_cfg={{_base_.mgc_vit_paramwise_cfg}}` in an optim_wrapper.
mgc_vit_paramwise_cfg = dict(
    norm_decay_mult=0.,
    custom_keys={'pos_embed': dict(decay_mult=0.), 'cls_token': dict(decay_mult=0.)})
