# Mugs with ViT-L/16 (1024 wide, 24 layers, 16 heads), student drop path 0.3 (spec §2).
_base_ = ['./mugs_vit-small-p16.py']
embed_dims = 1024
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.3),
    ids_head=dict(in_channels=embed_dims),
    lgds_head=dict(in_channels=embed_dims, num_heads=16, feedforward_channels=4 * embed_dims),
    gds_head=dict(in_channels=embed_dims))
