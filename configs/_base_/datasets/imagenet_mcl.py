# ImageNet-1k training images for MCL, class folders ignored (recursive search).
_base_ = './coco_train2017_mcl.py'
data_root = 'data/imagenet/'
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix='train/'))
