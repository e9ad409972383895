# Mugs with ViT-B/16 (768 wide, 12 layers, 12 heads), specs/mugs.md §2.
_base_ = ['./mugs_vit-small-p16.py']
embed_dims = 768
model = dict(
    backbone=dict(arch='b'),
    ids_head=dict(in_channels=embed_dims),
    lgds_head=dict(in_channels=embed_dims, num_heads=12, feedforward_channels=4 * embed_dims),
    gds_head=dict(in_channels=embed_dims))
