"""Evaluation of frozen backbones as plain functions, shared by tools and hooks."""
from .common import backbone_out_type, init_eval_launcher
from .dense_probe import (IMAGENET_MEAN, IMAGENET_STD, MEASUREMENTS, DenseProbe,
                          LinearProbe, ProbeImages, ProbeViewPairs, build_backbone,
                          confusion_matrix, cross_view_consistency, dump_figures,
                          exclude_images, find_labeled_images, knn_vote,
                          load_backbone_weights, miou_from_confusion, patch_features, patch_labels,
                          photometric_views, read_image, read_mask, recalibrate_batchnorm,
                          run_sharded, split_labeled_images, to_input, train_linear_probe,
                          upsampled_prediction)
from .knn import (ClassImages, KNNEval, find_class_images, global_features, knn_scores,
                  knn_splits, resize_center_crop, topk_accuracy)

__all__ = [
    'IMAGENET_MEAN', 'IMAGENET_STD', 'MEASUREMENTS', 'DenseProbe', 'LinearProbe',
    'ProbeImages', 'ProbeViewPairs', 'build_backbone', 'confusion_matrix',
    'cross_view_consistency', 'dump_figures', 'exclude_images', 'find_labeled_images',
    'knn_vote',
    'load_backbone_weights', 'miou_from_confusion', 'patch_features', 'patch_labels',
    'photometric_views', 'read_image', 'read_mask', 'recalibrate_batchnorm', 'run_sharded',
    'split_labeled_images', 'to_input',
    'train_linear_probe', 'upsampled_prediction', 'backbone_out_type', 'init_eval_launcher',
    'ClassImages', 'KNNEval', 'find_class_images', 'global_features', 'knn_scores',
    'knn_splits', 'resize_center_crop', 'topk_accuracy'
]
