# MoCo v2 ResNet-50 on ImageNet-1k, 200 epochs, global batch 256 (8 GPUs x 32), SGD
# lr 0.03: mmpretrain's mocov2_resnet50_8xb32-coslr-200e_in1k.py on mgc_mm's data and
# runtime (DenseCL's ImageNet baseline).
_base_ = [
    '../_base_/models/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
