# Unlabeled PASCAL VOC images (VOC2012 JPEGImages; trainaug images are a subset).
_base_ = './coco_train2017_mgc.py'
data_root = 'data/VOCdevkit/VOC2012/'
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix='JPEGImages/'))
