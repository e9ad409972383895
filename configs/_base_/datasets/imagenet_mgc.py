# ImageNet-1k training images, class folders ignored (recursive search).
_base_ = './coco_train2017_mgc.py'
data_root = 'data/imagenet/'
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix='train/'))
