# FCN (ResNet-50-D8) on ADE20K, 512x512, 80k iterations, from a ResNet-50 pretraining
# checkpoint: mmseg's own fcn_r50-d8_4xb4-80k_ade20k-512x512 (SGD lr 0.01, poly, 16
# images per iteration) with its ResNetV1c (deep stem, ImageNet-supervised
# `pretrained=`) replaced by the plain pretrained ResNet-50, dilated as FCN-D8.
_base_ = [
    'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/r50.py',
]
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
model = dict(pretrained=None, backbone={{_base_.r50_d8}})
