# UperNet, 160k iterations, ADE20K 512x512, from a Mugs ViT-S/16 checkpoint.
# The MGC config upernet_mgc-vit-s16_8xb2-160k_ade20k-512x512.py with the Mugs ViT-S/16
# backbone (deit-small, 6 heads, ../_base_/mugs_vit-s16.py): everything else, schedule
# included, is the same, so the two pretrainings are compared on one protocol. Student:
# `--pretrained CKPT`; teacher: add `--pretrained-branch momentum`.
_base_ = ['./upernet_mgc-vit-s16_8xb2-160k_ade20k-512x512.py', '../_base_/mugs_vit-s16.py']
model = dict(backbone={{_base_.mugs_vit_s16}})
