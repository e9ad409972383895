"""Export the ViT backbone of an mgc_mm checkpoint with timm's key names.

    python tools/model_converters/mgc_mm_to_timm.py SRC.pth DST.pth [--branch momentum]

Load it with ``timm.create_model('vit_small_patch16_224', num_heads=8, num_classes=0)``
(ViT-S/16 with MGC's 8 heads) and ``load_state_dict(torch.load(DST))``.
"""
import argparse
import io
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mgc_mm.engine import atomic_write  # noqa: E402
from mgc_mm.utils import mgc_mm_to_timm  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='mgc_mm pretraining checkpoint')
    parser.add_argument('dst', help='output timm state dict')
    parser.add_argument('--branch', choices=['online', 'momentum'], default='online')
    args = parser.parse_args(argv)
    if osp.abspath(args.src) == osp.abspath(args.dst):
        raise ValueError('src and dst are the same file: refusing to overwrite the source')
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    state = mgc_mm_to_timm(ckpt, args.branch)
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write(buf.getvalue(), args.dst)
    print(f'wrote {len(state)} tensors ({args.branch} backbone) to {args.dst}')


if __name__ == '__main__':
    main()
