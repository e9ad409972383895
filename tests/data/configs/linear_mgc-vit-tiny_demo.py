# The ViT linear probe shrunken for CPU tests: the tiny MGC ViT of mgc_vit-tiny_demo.py
# (4 layers, 64 wide, 8 heads), frozen, a linear head trained for 3 epochs x 5
# iterations on the bundled COCO instance crops (demo/data/coco_cls: 8 classes, 80
# train / 33 val images, 112 px), validated after the last epoch (top-1 / top-5).
#   python tools/train.py tests/data/configs/linear_mgc-vit-tiny_demo.py --pretrained CKPT
_base_ = ['../../../configs/benchmarks/classification/mgc-vit-s16_linear-8xb128-coslr-90e_in1k.py']

model = dict(
    backbone=dict(arch=dict(embed_dims=64, num_layers=4, num_heads=8, feedforward_channels=128),
                  frozen_stages=4),
    head=dict(num_classes=8, in_channels=64))
data_preprocessor = dict(num_classes=8)

data_root = '{{ fileDirname }}/../../../demo/data/coco_cls/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=112, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=128, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=112),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=33, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root, data_prefix='val',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 3
optim_wrapper = dict(optimizer=dict(lr=0.05))  # MoCo v3's 12 is for batch 1024 and 90 epochs
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
                        end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
                     logger=dict(interval=5))
randomness = dict(seed=0)
