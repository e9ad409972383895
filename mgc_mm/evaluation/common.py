"""Small pieces shared by the frozen-backbone evaluations (dense probe, kNN), their
tools and their hooks."""
import contextlib
import os
from typing import Iterator, Optional

import torch
from mmengine import dist
from torch import nn


@contextlib.contextmanager
def backbone_out_type(backbone: nn.Module, out_type: Optional[str]) -> Iterator[nn.Module]:
    """Switch an mmpretrain ViT's ``out_type`` for the duration of the block.

    mmpretrain's ``VisionTransformer`` (and ``MoCoV3ViT``, ``MGCViT``) reads
    ``out_type`` at forward time, so one backbone can give patch maps
    (``'featmap'``) to a dense probe and its class token (``'cls_token'``) to a kNN
    classifier. Backbones without the attribute (ResNets) and ``out_type=None`` are
    left alone; the previous value is restored even when the block raises.

    Args:
        backbone (nn.Module): the backbone.
        out_type (str, optional): e.g. ``'featmap'`` or ``'cls_token'``.
    """
    old = getattr(backbone, 'out_type', None)
    switch = out_type is not None and old is not None and old != out_type
    if switch:
        if out_type == 'cls_token' and getattr(backbone, 'cls_token', None) is None:
            raise ValueError(f'{type(backbone).__name__} has no class token '
                             "(with_cls_token=False): use pool='avg'")
        backbone.out_type = out_type
    try:
        yield backbone
    finally:
        if switch:
            backbone.out_type = old


def init_eval_launcher(launcher: str = 'none', local_rank: int = 0,
                       device: Optional[str] = None) -> torch.device:
    """Start ``torch.distributed`` for an evaluation tool and pick its device.

    ``launcher='pytorch'`` (under ``torchrun``) initialises NCCL on GPU machines and
    gloo on CPU ones (mmengine's launcher calls ``torch.cuda.set_device``, which
    needs a GPU).

    Args:
        launcher (str): ``'none'`` or ``'pytorch'``.
        local_rank (int): the ``--local-rank`` of older launchers.
        device (str, optional): default cuda if available, else cpu.

    Returns:
        torch.device: where the backbone runs.
    """
    if launcher == 'pytorch':
        os.environ.setdefault('LOCAL_RANK', str(local_rank))
        if torch.cuda.is_available():
            dist.init_dist('pytorch', backend='nccl')
        else:
            torch.distributed.init_process_group(backend='gloo')
    elif launcher != 'none':
        raise ValueError(f"launcher must be 'none' or 'pytorch', got {launcher!r}")
    if device:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def add_backbone_args(parser, what: str) -> None:
    """The arguments naming the backbone an evaluation tool reads (``what``: the
    verb of its help texts, e.g. ``'probe'``)."""
    parser.add_argument('checkpoint', nargs='?', help='mgc_mm pretraining checkpoint')
    parser.add_argument('--config', help='config with model.backbone (default: the one '
                        'stored in the checkpoint)')
    parser.add_argument('--branch', choices=['online', 'momentum'], default='online',
                        help=f'which backbone of the checkpoint to {what}')
    parser.add_argument('--random-init', action='store_true',
                        help=f'{what} the same backbone at its (seeded) random '
                        'initialisation')


def add_runtime_args(parser, batch_size: int, seed_help: str) -> None:
    """Batching, device, output and launcher arguments of an evaluation tool."""
    parser.add_argument('--batch-size', type=int, default=batch_size,
                        help='images per forward')
    parser.add_argument('--workers', type=int, default=2, help='dataloader workers')
    parser.add_argument('--device', help='default: cuda if available, else cpu')
    parser.add_argument('--seed', type=int, default=0, help=seed_help)
    parser.add_argument('--out', help='also write the figures to this JSON file')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def check_backbone_args(parser, args) -> None:
    """A checkpoint, or a config for the random-init baseline, must be given."""
    if args.checkpoint is None and not (args.random_init and args.config):
        parser.error('give a checkpoint, or --random-init with --config')


def report_and_finish(figures: Optional[dict], table: Optional[str],
                      out: Optional[str]) -> None:
    """Print an evaluation tool's table and write its JSON on rank 0 (``figures`` is
    None on the other ranks), then close the process group of a distributed run."""
    if figures is not None:
        from .dense_probe import dump_figures
        print(table)
        if out:
            dump_figures(figures, out)
            print(f'figures written to {out}')
    if dist.is_distributed():
        torch.distributed.destroy_process_group()
