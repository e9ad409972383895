# Semantic FPN, 40k iterations, ADE20K 512x512, from a MoCo v3 ViT-S/16 checkpoint.
# The MGC config fpn_mgc-vit-s16_8xb2-40k_ade20k-512x512.py with the MoCo v3 ViT-S/16
# backbone (12 heads, ../_base_/mocov3_vit-s16.py): everything else, schedule included, is
# the same, so the two pretrainings are compared on one protocol.
_base_ = ['./fpn_mgc-vit-s16_8xb2-40k_ade20k-512x512.py', '../_base_/mocov3_vit-s16.py']
model = dict(backbone={{_base_.mocov3_vit_s16}})
