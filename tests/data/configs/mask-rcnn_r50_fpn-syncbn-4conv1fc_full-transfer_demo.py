# The shrunken COCO Mask R-CNN R50-FPN demo with MCL's full transfer, as the benchmark
# config mask-rcnn_r50_fpn-syncbn-4conv1fc_8xb2-ms-1x-full-transfer_coco.py: backbone,
# FPN and the four box-head convs from one MCL-layout checkpoint.
_base_ = ['./mask-rcnn_r50_fpn-syncbn-4conv1fc_demo.py']
model = {{_base_.mcl_full_transfer}}
