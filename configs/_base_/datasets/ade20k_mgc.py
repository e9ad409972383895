# Unlabeled ADE20K training images (ADEChallengeData2016 layout).
_base_ = './coco_train2017_mgc.py'
data_root = 'data/ade/ADEChallengeData2016/'
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix='images/training/'))
