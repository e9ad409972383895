"""Plot training curves of one or more work dirs into a PNG.

    python tools/analysis_tools/plot_log.py WORK_DIR [WORK_DIR ...] [--keys loss lr ...]
        [--out FILE.png]

Reads the scalars mmengine logs to ``WORK_DIR/<timestamp>/vis_data/scalars.json``. Each
work dir is its newest run, preceded by the earlier runs it resumed from (their steps
before the newer run's first step). One panel per key, one line per work dir, x = the
logged step (the iteration for training scalars). Default keys: every numeric scalar
but time / data_time / memory / epoch / iter. Prints the keys the runs hold.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mgc_mm.visualization import default_keys, load_work_dir, plot_scalars  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', help='work dirs of tools/train.py runs')
    parser.add_argument('--keys', nargs='+', help='scalars to plot (default: all but bookkeeping)')
    parser.add_argument('--out', default='curves.png', help='output PNG (default: curves.png)')
    args = parser.parse_args(argv)
    runs = {}
    for work_dir in args.work_dirs:
        label = osp.basename(osp.normpath(work_dir))
        if label in runs:  # two work dirs with the same name: tell them apart
            label = osp.normpath(work_dir)
        runs[label] = load_work_dir(work_dir)
    _, series = plot_scalars(runs, args.keys, out=args.out)
    print(f'logged keys: {default_keys(runs)}')
    for key, per_run in series.items():
        lengths = ', '.join(f'{label}: {len(s[0])} points' for label, s in per_run.items())
        print(f'{key}: {lengths}')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
