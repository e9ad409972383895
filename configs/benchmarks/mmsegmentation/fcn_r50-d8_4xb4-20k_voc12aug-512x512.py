# FCN (ResNet-50-D8) on PASCAL VOC 2012 + SBD aug, 512x512, 20k iterations, from a
# ResNet-50 pretraining checkpoint: the VOC semantic segmentation benchmark of DenseCL
# (and mmselfsup's): mmseg's own fcn_r50-d8_4xb4-20k_voc12aug-512x512 (SGD lr 0.01,
# poly, 16 images per iteration) with its ResNetV1c (deep stem, ImageNet-supervised
# `pretrained=`) replaced by the plain pretrained ResNet-50, dilated as FCN-D8.
_base_ = [
    'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py',
    '../_base_/r50.py',
]
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
model = dict(pretrained=None, backbone={{_base_.r50_d8}})
