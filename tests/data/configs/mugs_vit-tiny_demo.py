# The Mugs demo config with a tiny ViT, narrow heads, short banks and 8 images: fast
# end-to-end tests of the real 14-crop pipeline, model structure, optimizer wrapper,
# schedulers, hooks and checkpoints.
_base_ = ['../../../configs/mugs/mugs_vit-small-p16_1xb8-3e_coco-demo.py']

dims = 64
head = dict(in_channels=dims, hid_channels=48, out_channels=16, pred_hid_channels=40,
            queue_len=32)
model = dict(
    backbone=dict(arch=dict(embed_dims=dims, num_layers=2, num_heads=4,
                            feedforward_channels=128, _delete_=True)),
    ids_head=head,
    lgds_head=dict(head, num_heads=4, feedforward_channels=96, memory_len=32),
    gds_head=dict(in_channels=dims, hid_channels=48, bottleneck_channels=16,
                  out_channels=64))
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
    dict(type='CosineAnnealingWeightDecay', eta_min_ratio=2.5, T_max=max_epochs,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
# A larger lr than the demo's 2.5e-5, so that two epochs visibly move the weights.
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
randomness = dict(seed=0)
