# mmdet's Mask R-CNN R50-FPN in the form MoCo, DenseCL and MCL fine-tune (Detectron2's
# mask_rcnn_R_50_FPN_*_syncbn): SyncBN in the backbone, the FPN, the 4conv1fc box head
# and the mask head, no frozen stage; the backbone from a pretraining checkpoint.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', '../../_base_/r50.py']
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
model = dict(
    backbone={{_base_.r50}},
    neck=dict(norm_cfg={{_base_.r50_norm_cfg}}),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       norm_cfg={{_base_.r50_norm_cfg}}),
        mask_head=dict(norm_cfg={{_base_.r50_norm_cfg}})))
# MCL's full transfer (specs/mcl.md §6): the FPN and the four box-head convs also come
# from the checkpoint, strictly: `neck.*` (mmdet FPN keys, BN) and
# `region_head.shared_convs.*` (its MLP under region_head.* is not taken). Children:
# `model = {{_base_.mcl_full_transfer}}`; `--pretrained CKPT` fills all three.
mcl_full_transfer = dict(
    neck=dict(
        type='PretrainedFPN',
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.pretrained_placeholder}},
                      prefix='neck.')),
    roi_head=dict(
        bbox_head=dict(
            type='PretrainedShared4Conv1FCBBoxHead',
            init_cfg=dict(type='Pretrained', checkpoint={{_base_.pretrained_placeholder}},
                          prefix='region_head.'))))
