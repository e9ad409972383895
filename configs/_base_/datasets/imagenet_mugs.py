# ImageNet-1k training images (class folders ignored, recursive search) with Mugs'
# 14 crops (see coco_train2017_mugs.py for the views and `weak_aug`).
_base_ = './coco_train2017_mugs.py'
data_root = 'data/imagenet/'
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix='train/'))
