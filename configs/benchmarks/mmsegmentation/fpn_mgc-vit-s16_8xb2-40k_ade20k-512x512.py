# Semantic FPN, 40k iterations, ADE20K 512x512, from an MGC ViT-S/16 checkpoint
# (paper: 37.7 mIoU from COCO pretraining, 31.2 from ADE20K pretraining): blocks
# (2, 5, 8, 11), AdamW lr 2e-4, wd 0.01, poly schedule, warm-up 1500 iterations.
_base_ = [
    './_base_/fpn_mgc-vit-s16.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(out_indices=[2, 5, 8, 11]),
    decode_head=dict(num_classes=150))
# 8 GPUs x 2 images = 16 per iteration
train_dataloader = dict(batch_size=2)
