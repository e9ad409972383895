# MGC ViT-S/16 on PASCAL VOC images, 800 epochs, global batch 256.
_base_ = [
    '../_base_/models/mgc_vit-small-p16.py',
    '../_base_/datasets/voc_mgc.py',
    '../_base_/schedules/adamw_coslr-800e_mgc.py',
    '../_base_/default_runtime.py',
]
