# The ResNet-50 of a DenseCL / MoCo v2 / MCL / DSC checkpoint for fine-tuning, shared by
# the mmdet and mmseg R50 benchmark configs (`backbone={{_base_.r50}}` replaces the
# toolbox's backbone). `mgc_mm`'s PretrainedResNet: mmdet's ResNet (plain stem, the key
# names of mmpretrain's ResNet, so every pretrained tensor loads), loading strictly.
# SyncBN everywhere, no frozen stage, BN in train mode (the MoCo / DenseCL protocol).
#
# `tools/train.py CONFIG --pretrained CKPT` replaces the placeholder checkpoint in every
# Pretrained init_cfg of the model; prefix 'backbone.' loads the online branch,
# `--pretrained-branch momentum` the momentum one ('momentum_encoder.module.backbone.';
# mmpretrain's MoCo / DenseCL 'encoder_k.module.0.' is found from it).
pretrained_placeholder = '${PRETRAINED}'
r50_init_cfg = dict(type='Pretrained', checkpoint=pretrained_placeholder, prefix='backbone.')
r50_norm_cfg = dict(type='SyncBN', requires_grad=True)
r50 = dict(
    _delete_=True,
    type='PretrainedResNet',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=-1,
    norm_cfg=r50_norm_cfg,
    norm_eval=False,
    style='pytorch',
    init_cfg=r50_init_cfg)
# Semantic segmentation (FCN-D8): dilated res4 / res5, output stride 8.
r50_d8 = dict(r50, dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1))
# R50-C4 detection: res2..res4 in the backbone, res5 in the RoI head
# (PretrainedResLayer loads `backbone.layer4.*`).
r50_c4 = dict(r50, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ))
r50_c4_res5 = dict(
    _delete_=True,
    type='PretrainedResLayer',
    depth=50,
    stage=3,
    stride=2,
    dilation=1,
    style='pytorch',
    norm_cfg=r50_norm_cfg,
    norm_eval=False,
    init_cfg=r50_init_cfg)
