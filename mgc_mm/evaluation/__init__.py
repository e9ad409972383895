"""Evaluation of frozen backbones as plain functions, shared by tools and hooks."""
from .dense_probe import (IMAGENET_MEAN, IMAGENET_STD, MEASUREMENTS, DenseProbe,
                          LinearProbe, ProbeImages, ProbeViewPairs, build_backbone,
                          confusion_matrix, cross_view_consistency, dump_figures,
                          find_labeled_images, knn_vote, load_backbone_weights,
                          miou_from_confusion, patch_features, patch_labels, read_image,
                          read_mask, run_sharded, split_labeled_images, to_input,
                          train_linear_probe, upsampled_prediction)

__all__ = [
    'IMAGENET_MEAN', 'IMAGENET_STD', 'MEASUREMENTS', 'DenseProbe', 'LinearProbe',
    'ProbeImages', 'ProbeViewPairs', 'build_backbone', 'confusion_matrix',
    'cross_view_consistency', 'dump_figures', 'find_labeled_images', 'knn_vote',
    'load_backbone_weights', 'miou_from_confusion', 'patch_features', 'patch_labels',
    'read_image', 'read_mask', 'run_sharded', 'split_labeled_images', 'to_input',
    'train_linear_probe', 'upsampled_prediction'
]
