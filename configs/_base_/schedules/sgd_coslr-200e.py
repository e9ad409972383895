# MoCo v2 / DenseCL: SGD lr 0.03 for a global batch of 256, momentum 0.9, wd 1e-4,
# cosine to 0 over 200 epochs, no warm-up: mmpretrain's own schedule.
_base_ = 'mmpretrain::_base_/schedules/imagenet_sgd_coslr_200e.py'
# lr above is for a global batch of 256; `--auto-scale-lr` rescales it linearly.
auto_scale_lr = dict(base_batch_size=256)
