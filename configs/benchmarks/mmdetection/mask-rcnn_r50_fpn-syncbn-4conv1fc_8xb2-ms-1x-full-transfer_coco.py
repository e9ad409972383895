# MCL's full transfer (its paper's headline, 42.5 box AP / 38.3 mask AP from 100 epochs
# on ImageNet): the COCO Mask R-CNN 1x benchmark with the backbone, the FPN
# (`neck.*`) and the four convs of the region head (`region_head.shared_convs.*`) all
# loaded strictly from one MCL checkpoint, no conversion script:
#   tools/train.py THIS_CONFIG --pretrained MCL_CKPT
# Compare methods on the backbone-only config; this one is MCL's own protocol.
_base_ = './mask-rcnn_r50_fpn-syncbn-4conv1fc_8xb2-ms-1x_coco.py'
model = {{_base_.mcl_full_transfer}}
