# Faster R-CNN R50-C4 on PASCAL VOC07+12 trainval, tested on VOC2007 test, from a
# ResNet-50 pretraining checkpoint: the MoCo / DenseCL VOC detection protocol
# (Detectron2 pascal_voc_R_50_C4_24k_moco). mmdet's Detectron2-style VOC config
# (faster-rcnn_r50-caffe-c4_ms-18k_voc0712: shorter side 480..800 step 32, test 800,
# SGD lr 0.02 for 16 images, warm-up 100) at 24k iterations with steps at 18k and 22k,
# pytorch-style ResNet with RGB ImageNet normalisation, SyncBN in the backbone and
# in res5 (the RoI head; loaded from the checkpoint's `backbone.layer4.*`).
# AP / AP50 / AP75: mmdet's VOCMetric at IoU 0.50:0.05:0.95 with the VOC2007 11-point
# AP, the way Detectron2's PascalVOCDetectionEvaluator computes what these papers
# report: `pascal_voc/mAP` is AP (mean of the ten), `pascal_voc/AP50`, `pascal_voc/AP75`.
_base_ = [
    'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py',
    '../_base_/r50.py',
]
custom_imports = dict(imports=['mgc_mm'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone={{_base_.r50_c4}},
    roi_head=dict(shared_head={{_base_.r50_c4_res5}}))
max_iter = 24000
train_cfg = dict(max_iters=max_iter, val_interval=4000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_iter, by_epoch=False,
         milestones=[18000, 22000], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000))
val_evaluator = dict(
    type='VOCMetric', metric='mAP', eval_mode='11points',
    iou_thrs=[round(0.5 + 0.05 * i, 2) for i in range(10)])
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=16)
