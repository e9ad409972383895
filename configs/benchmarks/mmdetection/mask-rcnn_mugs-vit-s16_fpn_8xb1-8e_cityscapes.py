# Mask R-CNN on Cityscapes instance segmentation from a Mugs ViT-S/16 checkpoint.
# The MGC config mask-rcnn_mgc-vit-s16_fpn_8xb1-8e_cityscapes.py with the Mugs ViT-S/16
# backbone (deit-small, 6 heads, ../_base_/mugs_vit-s16.py): everything else, schedule
# included, is the same, so the two pretrainings are compared on one protocol. Student:
# `--pretrained CKPT`; teacher: add `--pretrained-branch momentum`.
_base_ = ['./mask-rcnn_mgc-vit-s16_fpn_8xb1-8e_cityscapes.py', '../_base_/mugs_vit-s16.py']
model = dict(backbone={{_base_.mugs_vit_s16}})
