# mmpose's ViTPose-S top-down heatmap config with the MGC ViT-S/16 backbone swapped in.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_ViTPose-small_8xb64-210e_coco-256x192.py',
    '../../_base_/mgc_vit-s16.py',
]
custom_imports = dict(
    imports=['mmpose.engine.optim_wrappers.layer_decay_optim_wrapper', 'mgc_mm'],
    allow_failed_imports=False)
model = dict(backbone={{_base_.mgc_vit_s16}})
