# MCL R50-FPN on ImageNet-1k, 100 epochs, global batch 4096 (32 GPUs x 128), LARS lr 16.0:
# the paper's setting (specs/mcl.md §5).
_base_ = [
    '../_base_/models/mcl_r50-fpn.py',
    '../_base_/datasets/imagenet_mcl.py',
    '../_base_/schedules/lars_coslr-100e_mcl.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=128)
