# Mask R-CNN 1x on COCO from an MGC ViT-B/16 checkpoint.
_base_ = './mask-rcnn_mgc-vit-s16_fpn_8xb2-ms-1x_coco.py'
embed_dims = 768
model = dict(
    backbone=dict(
        arch=dict(embed_dims=embed_dims, num_layers=12, num_heads=12, feedforward_channels=3072),
        init_cfg=dict(
            checkpoint='work_dirs/mgc_vit-base-p16_8xb32-amp-coslr-800e_coco/epoch_800.pth')),
    neck=dict(necks=[
        dict(type='mmseg.Feature2Pyramid', embed_dim=embed_dims, rescales=[4, 2, 1, 0.5],
             norm_cfg=dict(type='SyncBN', requires_grad=True)),
        dict(type='mmdet.FPN', in_channels=[embed_dims] * 4, out_channels=256, num_outs=5),
    ]))
