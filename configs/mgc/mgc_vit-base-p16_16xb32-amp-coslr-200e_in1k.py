# MGC ViT-B/16 on ImageNet-1k, 200 epochs, global batch 512.
_base_ = ['./mgc_vit-small-p16_16xb32-amp-coslr-200e_in1k.py']
model = dict(
    backbone=dict(
        arch=dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072),
        drop_path_rate=0.1),
    neck=dict(projector=dict(in_channels=768)))
