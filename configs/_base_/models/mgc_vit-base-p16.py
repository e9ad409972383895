# MGC with ViT-B/16 (12 heads).
_base_ = './mgc_vit-small-p16.py'
model = dict(
    backbone=dict(
        arch=dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072),
        drop_path_rate=0.1),
    neck=dict(projector=dict(in_channels=768)))
