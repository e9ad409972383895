"""Convert an official MGC release checkpoint into mgc_mm's layout.

    python tools/model_converters/mgc_official_to_mgc_mm.py SRC.pth DST.pth

The online (``base_encoder.``) and momentum (``momentum_encoder.``) timm ViTs become
``backbone.*`` and ``momentum_encoder.module.backbone.*`` with mmpretrain's names, so
that the benchmark configs fine-tune them with ``--pretrained DST.pth``. Projection /
prediction heads are not converted (listed on the console).
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mgc_mm.engine import atomic_write  # noqa: E402
from mgc_mm.utils import official_mgc_to_mgc_mm  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official MGC checkpoint')
    parser.add_argument('dst', help='output mgc_mm checkpoint')
    args = parser.parse_args(argv)
    if osp.abspath(args.src) == osp.abspath(args.dst):
        raise ValueError('src and dst are the same file: refusing to overwrite the source')
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    state, skipped = official_mgc_to_mgc_mm(ckpt)
    import io
    buf = io.BytesIO()
    torch.save({'state_dict': state, 'meta': {'converted_from': osp.basename(args.src)}}, buf)
    atomic_write(buf.getvalue(), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}; not converted: {skipped}')


if __name__ == '__main__':
    main()
