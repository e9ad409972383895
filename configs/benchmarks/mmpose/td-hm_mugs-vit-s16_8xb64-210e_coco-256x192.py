# ViTPose-S top-down heatmap, COCO keypoints 256x192, from a Mugs ViT-S/16 checkpoint
# (class token and its position dropped at load, logged).
# The MGC config td-hm_mgc-vit-s16_8xb64-210e_coco-256x192.py with the Mugs ViT-S/16
# backbone (deit-small, 6 heads, ../_base_/mugs_vit-s16.py): everything else, schedule
# included, is the same, so the two pretrainings are compared on one protocol. Student:
# `--pretrained CKPT`; teacher: add `--pretrained-branch momentum`.
_base_ = ['./td-hm_mgc-vit-s16_8xb64-210e_coco-256x192.py', '../_base_/mugs_vit-s16.py']
model = dict(backbone={{_base_.mugs_vit_s16}})
