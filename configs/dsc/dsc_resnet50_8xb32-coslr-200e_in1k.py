# DSC ResNet-50 on ImageNet-1k, 200 epochs, global batch 256 (8 GPUs x 32), SGD lr
# 0.03: DenseCL's ImageNet schedule (configs/densecl/), same model and views as the
# COCO config. Our implementation of the published description (docs/dsc.md).
_base_ = ['./dsc_resnet50_8xb32-coslr-800e_coco.py']

train_dataloader = dict(dataset=dict(data_root='data/imagenet/', data_prefix='train/'))
max_epochs = 200
optim_wrapper = dict(optimizer=dict(lr=0.03))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)
]
train_cfg = dict(max_epochs=max_epochs)
