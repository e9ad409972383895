# MGC ViT-B/16 on COCO train2017, 800 epochs, global batch 256.
_base_ = [
    '../_base_/models/mgc_vit-base-p16.py',
    '../_base_/datasets/coco_train2017_mgc.py',
    '../_base_/schedules/adamw_coslr-800e_mgc.py',
    '../_base_/default_runtime.py',
]
