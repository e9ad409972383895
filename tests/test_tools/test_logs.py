"""Readable logs: the TensorBoard switch and tools/analysis_tools/plot_log.py."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mgc_mm.visualization import (default_keys, find_runs, load_work_dir, plot_scalars,
                                  read_scalars, scalar_series)
from tests.conftest import REPO, TINY_CONFIG

PLOT_LOG = osp.join(REPO, 'tools', 'analysis_tools', 'plot_log.py')
# The switch as documented: this one line in a config adds TensorBoard next to the
# json / text logs (mmengine's TensorboardVisBackend, same UniversalVisualizer).
TENSORBOARD_LINE = ("visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
                    "dict(type='TensorboardVisBackend')])")


def write_run(work_dir, stamp, records, tail=''):
    folder = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'scalars.json'), 'w') as f:
        f.write(''.join(json.dumps(r) + '\n' for r in records) + tail)


def train_records(steps, offset=0.):
    return [dict(lr=1e-3 * s, loss=5. - 0.1 * s + offset, loss_g16=2. + offset, time=0.5,
                 data_time=0.1, epoch=1, iter=s, memory=10, step=s) for s in steps]


def test_resumed_runs_are_stitched_and_plotted(tmp_path):
    work = str(tmp_path / 'exp')
    first = train_records(range(1, 6))
    resumed = train_records(range(4, 9), offset=0.01)  # resumed from iteration 3
    write_run(work, '20260101_000000', first)
    write_run(work, '20260101_010000', resumed, tail='{"lr": 0.1, "st')  # killed mid-write
    assert [osp.basename(osp.dirname(osp.dirname(p))) for p in find_runs(work)] == [
        '20260101_000000', '20260101_010000']
    with pytest.warns(UserWarning, match='truncated last line'):
        records = load_work_dir(work)
    # steps 1-3 of the first run, then the resumed run (its 4, 5 replace the first's)
    assert [r['step'] for r in records] == list(range(1, 9))
    assert records == first[:3] + resumed
    assert default_keys({'exp': records}) == ['lr', 'loss', 'loss_g16']

    other = str(tmp_path / 'other')
    write_run(other, '20260102_000000', train_records(range(1, 4), offset=1.))
    out = str(tmp_path / 'plots' / 'curves.png')
    with pytest.warns(UserWarning):
        runs = {'exp': load_work_dir(work), 'other': load_work_dir(other)}
    fig, series = plot_scalars(runs, ['loss', 'lr'], out=out)
    for key in ('loss', 'lr'):
        for label in ('exp', 'other'):
            steps = [r['step'] for r in runs[label]]
            assert series[key][label] == (steps, [r[key] for r in runs[label]])
    # The lines in the figure carry exactly those values: one panel per key.
    for ax, key in zip(fig.axes, ('loss', 'lr')):
        assert ax.get_title() == key
        for line, label in zip(ax.get_lines(), ('exp', 'other')):
            assert line.get_label() == label
            np.testing.assert_array_equal(line.get_xdata(), series[key][label][0])
            np.testing.assert_array_equal(line.get_ydata(), series[key][label][1])
    with Image.open(out) as img:
        img.verify()
        assert img.format == 'PNG'


def test_fresh_run_in_a_used_work_dir_hides_the_old_one(tmp_path):
    write_run(str(tmp_path), '20260101_000000', train_records(range(1, 9)))
    write_run(str(tmp_path), '20260101_010000', train_records(range(1, 3), offset=1.))
    assert [r['loss_g16'] for r in load_work_dir(str(tmp_path))] == [3., 3.]


def test_epoch_numbered_val_records_do_not_cut_the_resumed_curve(tmp_path):
    # mmengine logs epoch-based validation metrics with step = epoch: such a record
    # in the resumed run must not hide the first run's iterations 2-5.
    val = dict(mIoU=0.5, step=1)
    write_run(str(tmp_path), '20260101_000000', train_records(range(1, 6)) + [val])
    write_run(str(tmp_path), '20260101_010000', train_records(range(6, 8)) + [dict(val, step=2)])
    records = load_work_dir(str(tmp_path))
    assert scalar_series(records, 'loss')[0] == list(range(1, 8))
    assert scalar_series(records, 'mIoU') == ([1, 2], [0.5, 0.5])


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        find_runs(str(tmp_path / 'nope'))
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        find_runs(str(tmp_path))
    write_run(str(tmp_path), '20260101_000000', train_records([1]), tail='oops\n{"step": 3}\n')
    with pytest.raises(ValueError, match=r'scalars.json:2'):
        read_scalars(find_runs(str(tmp_path))[0])
    records = train_records([1, 2])
    with pytest.raises(KeyError, match=r"'loss_g32'.*logged keys: \['lr', 'loss'"):
        plot_scalars({'a': records}, ['loss_g32'])
    assert scalar_series(records + [dict(step=3, loss='nan?')], 'loss') == ([1, 2], [4.9, 4.8])


def run(*args, timeout=900):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run([sys.executable, *map(str, args)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


@pytest.mark.slow
def test_tensorboard_switch_and_plot_log_on_a_real_run(tmp_path):
    from mmengine.config import Config
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    # The tiny pretraining config plus the switch, and the dense probe (its mIoU is
    # one of the curves) next to the config's own custom hooks.
    hooks = [dict(h) for h in Config.fromfile(TINY_CONFIG).get('custom_hooks', [])]
    hooks.append(dict(type='DenseProbeHook', data_root=osp.join(REPO, 'demo', 'data', 'coco'),
                      reduce_zero_label=True, batch_size=8,
                      probe_kwargs=dict(linear_cfg=dict(epochs=3))))
    config = tmp_path / 'tiny_tensorboard.py'
    config.write_text(f'_base_ = [{TINY_CONFIG!r}]\n{TENSORBOARD_LINE}\n'
                      f'custom_hooks = {hooks!r}\n')
    work = tmp_path / 'work'
    train = osp.join(REPO, 'tools', 'train.py')
    run(train, config, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=1')
    # A resumed second epoch: a new run folder whose steps continue the first's.
    run(train, config, '--work-dir', work, '--resume', '--cfg-options', 'train_cfg.max_epochs=2')

    runs = find_runs(str(work))
    assert len(runs) == 2
    per_run = [read_scalars(p) for p in runs]
    for path, records in zip(runs, per_run):
        events = [f for f in os.listdir(osp.dirname(path)) if f.startswith('events.out.tfevents')]
        assert events, f'no TensorBoard event file next to {path}'
        acc = EventAccumulator(osp.dirname(path), size_guidance={'scalars': 0})
        acc.Reload()
        tags = set(acc.Tags()['scalars'])
        for key in ('loss', 'loss_g16', 'loss_g32', 'loss_g112', 'lr', 'ema_momentum',
                    'dense_probe/linear_mIoU', 'dense_probe/retrieval_mIoU'):
            assert key in tags, (key, sorted(tags))
            want = scalar_series(records, key)
            got = acc.Scalars(key)
            assert [e.step for e in got] == want[0]
            # TensorBoard stores float32: rel. rounding 2**-24 of the json's float64
            assert [e.value for e in got] == pytest.approx(want[1], rel=1e-6, abs=1e-12)

    out = tmp_path / 'curves.png'
    printed = run(PLOT_LOG, work, '--keys', 'loss', 'lr', 'ema_momentum',
                  'dense_probe/linear_mIoU', '--out', out)
    assert 'dense_probe/linear_mIoU: work: 2 points' in printed  # one probe an epoch
    assert f'wrote {out}' in printed
    with Image.open(out) as img:
        img.verify()
    # Two epochs of 2 iterations: steps 1..4 across both runs, the plotted series
    # equal to the two files' values one after the other.
    stitched = load_work_dir(str(work))
    assert [r['step'] for r in stitched if 'loss' in r] == [1, 2, 3, 4]
    _, series = plot_scalars({'work': stitched}, ['loss', 'ema_momentum',
                                                  'dense_probe/retrieval_mIoU'])
    for key in ('loss', 'ema_momentum', 'dense_probe/retrieval_mIoU'):
        expected = scalar_series(per_run[0] + per_run[1], key)
        assert series[key]['work'] == expected
