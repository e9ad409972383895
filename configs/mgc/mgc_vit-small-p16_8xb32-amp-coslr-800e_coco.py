# MGC ViT-S/16 on COCO train2017, 800 epochs, global batch 256 (8 GPUs x 32): the
# paper's setting (specs/mgc.md §5).
_base_ = [
    '../_base_/models/mgc_vit-small-p16.py',
    '../_base_/datasets/coco_train2017_mgc.py',
    '../_base_/schedules/adamw_coslr-800e_mgc.py',
    '../_base_/default_runtime.py',
]
