# Mask R-CNN 1x on COCO with layer-wise lr decay 0.75 from a MoCo v3 ViT-S/16 checkpoint.
# The MGC config mask-rcnn_mgc-vit-s16_fpn_8xb2-ms-1x-lrd_coco.py with the MoCo v3
# ViT-S/16 backbone (12 heads, ../_base_/mocov3_vit-s16.py): everything else, schedule
# included, is the same, so the two pretrainings are compared on one protocol.
_base_ = ['./mask-rcnn_mgc-vit-s16_fpn_8xb2-ms-1x-lrd_coco.py', '../_base_/mocov3_vit-s16.py']
model = dict(backbone={{_base_.mocov3_vit_s16}})
