# ImageNet-1k training images (class folders ignored, recursive search), two views
# with the MoCo v2 augmentation (see coco_train2017_mocov2.py).
_base_ = './coco_train2017_mocov2.py'
data_root = 'data/imagenet/'
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix='train/'))
