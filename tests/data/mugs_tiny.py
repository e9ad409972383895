"""A Mugs model with the real structure and tiny sizes, and batches for it."""
import copy
from typing import List, Tuple

import torch
from mmpretrain.structures import DataSample


def tiny_mugs_cfg(drop_path_rate: float = 0., queue_len: int = 16,
                  memory_len: int = 16, num_prototypes: int = 32, **model) -> dict:
    """Tiny ViT (2 layers, width 64), narrow heads, short queues and memories."""
    dims = 64
    heads = dict(hid_channels=48, out_channels=16, pred_hid_channels=40, queue_len=queue_len)
    cfg = dict(
        type='Mugs',
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True),
        backbone=dict(type='VisionTransformer',
                      arch=dict(embed_dims=dims, num_layers=2, num_heads=4,
                                feedforward_channels=128),
                      img_size=32, patch_size=16, drop_path_rate=drop_path_rate),
        ids_head=dict(type='MugsInstanceHead', in_channels=dims, **heads),
        lgds_head=dict(type='MugsLocalGroupHead', in_channels=dims, num_heads=4,
                       feedforward_channels=96, num_neighbours=3, memory_len=memory_len,
                       **heads),
        gds_head=dict(type='MugsGroupHead', in_channels=dims, hid_channels=48,
                      bottleneck_channels=16, out_channels=num_prototypes))
    cfg.update(model)
    return copy.deepcopy(cfg)


def fake_batch(batch: int = 3, num_local: int = 2, size: int = 32, local_size: int = 16,
               seed: int = 0) -> Tuple[List[torch.Tensor], List[DataSample]]:
    """Normalised-scale random views ``[t0, t1, s0, s1, locals...]`` and samples with
    ``weak_aug`` (teacher views weak, student views alternating)."""
    g = torch.Generator().manual_seed(seed)
    views = [torch.randn(batch, 3, size, size, generator=g) for _ in range(4)]
    views += [torch.randn(batch, 3, local_size, local_size, generator=g)
              for _ in range(num_local)]
    samples = []
    for i in range(batch):
        weak = torch.ones(4 + num_local, dtype=torch.bool)
        weak[2 + (i % 2)] = False
        sample = DataSample()
        sample.set_field(weak, 'weak_aug', field_type='metainfo')
        samples.append(sample)
    return views, samples
