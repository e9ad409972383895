# The ViT-S/16 linear probe for MoCo v3 checkpoints (12 heads, mmpretrain's
# 'mocov3-small'): the protocol of mgc-vit-s16_linear-8xb128-coslr-90e_in1k.py (MGC,
# 8 heads) with the head count of configs/benchmarks/_base_/mocov3_vit-s16.py.
_base_ = './mgc-vit-s16_linear-8xb128-coslr-90e_in1k.py'

model = dict(backbone=dict(arch=dict(num_heads=12)))
