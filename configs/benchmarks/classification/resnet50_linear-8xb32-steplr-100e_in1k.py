# Linear probe of a frozen mgc_mm ResNet-50 (DenseCL, MoCo v2, MCL) on ImageNet-1k:
# mmpretrain's MoCo v2 / DenseCL linear benchmark (SGD lr 30, batch 8 x 32, steps at
# 60 / 80, 100 epochs, global average pooling -> LinearClsHead), with the backbone
# swapped for the strict `PretrainedResNet` (mmdet's ResNet with mmpretrain's key names:
# all 318 tensors load, or the run stops naming the keys; a ViT checkpoint stops in one
# line):
#
#   bash tools/dist_train.sh configs/benchmarks/classification/resnet50_linear-8xb32-steplr-100e_in1k.py 8 --pretrained $CKPT
_base_ = 'mmpretrain::mocov2/benchmarks/resnet50_8xb32-linear-steplr-100e_in1k.py'

custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdet.PretrainedResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),  # C5 -> GlobalAveragePooling -> LinearClsHead(2048)
        frozen_stages=4,  # stem and all stages: only the head learns
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,  # BN statistics stay those of pretraining
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='${PRETRAINED}', prefix='backbone.')))
