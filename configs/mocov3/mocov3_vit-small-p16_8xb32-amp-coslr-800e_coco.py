# MoCo v3 ViT-S/16 on COCO train2017 images, 800 epochs, global batch 256 (8 GPUs x 32):
# the same data, batch and length as configs/mgc/mgc_vit-small-p16_8xb32-amp-coslr-800e_coco.py,
# so that the two are compared on the dense benchmarks from equal pretraining. Model,
# views and optimiser are the paper's ViT-S recipe (the ImageNet config); lr follows the
# paper's rule 1.5e-4 x batch / 256, the 40 warm-up epochs are kept.
_base_ = ['./mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py']

train_dataloader = dict(
    batch_size=32,
    dataset=dict(data_root='data/coco/', data_prefix='train2017/'))

optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 256 / 256))
auto_scale_lr = dict(base_batch_size=256)
max_epochs = 800
warmup_epochs = 40
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
