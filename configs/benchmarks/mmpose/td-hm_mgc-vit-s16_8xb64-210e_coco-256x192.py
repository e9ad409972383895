# ViTPose-S top-down heatmap, COCO keypoints 256x192, from an MGC ViT-S/16 checkpoint
# (paper: 71.6 AP / 76.9 AR): last-layer features through the pretrained final norm,
# no class token (its pretrained position is dropped at load, and logged), AdamW 5e-4,
# wd 0.05, 210 epochs, mmpose's layer-wise lr decay (0.8).
_base_ = ['./_base_/td-hm_vitpose_mgc-vit-s16.py']
model = dict(
    backbone=dict(
        img_size=(256, 192),
        with_cls_token=False,
        out_indices=[11],
        patch_cfg=dict(padding=2)))
optim_wrapper = dict(optimizer=dict(weight_decay=0.05))
