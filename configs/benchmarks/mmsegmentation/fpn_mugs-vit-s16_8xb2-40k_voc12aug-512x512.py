# Semantic FPN, 40k iterations, VOC 2012 + SBD aug 512x512, from a Mugs ViT-S/16
# checkpoint.
# The MGC config fpn_mgc-vit-s16_8xb2-40k_voc12aug-512x512.py with the Mugs ViT-S/16
# backbone (deit-small, 6 heads, ../_base_/mugs_vit-s16.py): everything else, schedule
# included, is the same, so the two pretrainings are compared on one protocol. Student:
# `--pretrained CKPT`; teacher: add `--pretrained-branch momentum`.
_base_ = ['./fpn_mgc-vit-s16_8xb2-40k_voc12aug-512x512.py', '../_base_/mugs_vit-s16.py']
model = dict(backbone={{_base_.mugs_vit_s16}})
