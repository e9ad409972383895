"""Keep only the backbone of an mgc_mm pretraining checkpoint.

    python tools/model_converters/extract_backbone.py CKPT OUT [--branch online|momentum]

OUT holds the chosen branch's ViT under ``backbone.*`` (the momentum branch too) with
the checkpoint's ``meta`` plus ``meta['extract_backbone']`` (source file, branch), and
loads with ``--pretrained OUT`` into every benchmark config exactly like the full
checkpoint (``--pretrained CKPT [--pretrained-branch BRANCH]``). Optimizer state, the
other branch and the projection / prediction heads are dropped.
"""
import argparse
import io
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mgc_mm.engine import atomic_write  # noqa: E402
from mgc_mm.utils import BRANCH_PREFIXES, extract_backbone  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='mgc_mm pretraining checkpoint')
    parser.add_argument('dst', help='output backbone checkpoint')
    parser.add_argument('--branch', choices=list(BRANCH_PREFIXES), default='online',
                        help='online backbone (default) or momentum (target) backbone')
    args = parser.parse_args(argv)
    if osp.abspath(args.src) == osp.abspath(args.dst):
        raise ValueError('src and dst are the same file: refusing to overwrite the source')
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'checkpoint {args.src!r} does not exist')
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    out = extract_backbone(ckpt, args.branch, source=osp.basename(args.src))
    buf = io.BytesIO()
    torch.save(out, buf)
    atomic_write(buf.getvalue(), args.dst)
    mb = 1024**2
    print(f'wrote {len(out["state_dict"])} tensors ({args.branch} backbone as backbone.*) to '
          f'{args.dst}: {buf.tell() / mb:.1f} MiB (source {osp.getsize(args.src) / mb:.1f} MiB)')


if __name__ == '__main__':
    main()
