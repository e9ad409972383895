# The COCO Mask R-CNN benchmark with layer-wise lr decay (0.75 per block, the usual ViT
# fine-tuning option), through mmpose's LayerDecayOptimWrapperConstructor: block i
# (0-based, of 12) trains at lr * 0.75 ** (12 - i), the patch / position embedding at
# lr * 0.75 ** 13, neck and heads at lr. Its no-decay rule: 1-D tensors and pos_embed.
_base_ = './mask-rcnn_mgc-vit-s16_fpn_8xb2-ms-1x_coco.py'
custom_imports = dict(
    imports=['mgc_mm', 'mmpose.engine.optim_wrappers.layer_decay_optim_wrapper'],
    allow_failed_imports=False)
optim_wrapper = dict(
    constructor='mmpose.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, num_layers=12, layer_decay_rate=0.75))
