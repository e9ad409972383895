# Semantic FPN, 40k iterations, PASCAL VOC 2012 + SBD aug, 512x512, from an MGC ViT-S/16
# checkpoint (paper: 64.5 mIoU from COCO pretraining, 54.5 from VOC pretraining).
_base_ = [
    './_base_/fpn_mgc-vit-s16.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(out_indices=[2, 5, 8, 11]),
    decode_head=dict(num_classes=21))
# 8 GPUs x 2 images = 16 per iteration
train_dataloader = dict(batch_size=2)
