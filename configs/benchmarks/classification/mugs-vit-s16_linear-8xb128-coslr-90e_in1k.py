# The ViT-S/16 linear probe for Mugs checkpoints (mmpretrain's 'deit-small', 6 heads):
# the protocol of mgc-vit-s16_linear-8xb128-coslr-90e_in1k.py (MGC, 8 heads) with the
# head count of configs/benchmarks/_base_/mugs_vit-s16.py; the rest of the backbone
# (qkv bias, LN eps 1e-6, learned position embedding, final norm) is already Mugs'
# pretraining backbone, so the probe sees the pretrained features exactly.
# Student: `--pretrained CKPT`; teacher: add `--pretrained-branch momentum`.
_base_ = './mgc-vit-s16_linear-8xb128-coslr-90e_in1k.py'

model = dict(backbone=dict(arch=dict(num_heads=6)))
