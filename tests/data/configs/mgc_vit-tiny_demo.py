# The demo config with a tiny ViT and 8 images: fast end-to-end tests of the real
# pipeline, model structure, optimizer wrapper, hooks and checkpoints.
_base_ = ['../../../configs/mgc/mgc_vit-small-p16_1xb8-3e_coco-demo.py']

model = dict(
    backbone=dict(arch=dict(embed_dims=64, num_layers=4, num_heads=8, feedforward_channels=128),
                  drop_path_rate=0.),
    neck=dict(projector=dict(in_channels=64, hid_channels=96, out_channels=32)),
    head=dict(predictor=dict(in_channels=32, hid_channels=96, out_channels=32)))
# An absolute data path, so that tests and users can run it from any folder.
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(indices=8, data_root='{{ fileDirname }}/../../../demo/data/coco/'))
max_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1, eta_min=1e-6, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
randomness = dict(seed=0)
