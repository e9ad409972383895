"""tools/analysis_tools/benchmark.py on a data-only config: the pipeline figure, and a
clear stop where a model is needed."""
import os
import os.path as osp
import re
import subprocess
import sys

from tests.conftest import REPO

TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark.py')
MUGS_DATA = osp.join(REPO, 'configs', '_base_', 'datasets', 'coco_train2017_mugs.py')
DEMO_ROOT = osp.join(REPO, 'demo', 'data', 'coco') + '/'


def run(*args, config=MUGS_DATA):
    return subprocess.run([sys.executable, TOOL, config, '--data-root', DEMO_ROOT, *args],
                          cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True, text=True, timeout=300)


def test_data_only_config_times_its_pipeline_and_refuses_the_step():
    res = run('--samples', '4', '--skip', 'corr', 'step')
    assert res.returncode == 0, res.stderr[-3000:]
    last = res.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r'pipeline: ([\d.]+) samples/s per worker \(1 thread, 4 samples, \d+ images, '
                     r'pixel pipeline cpu\)', last)
    assert m and float(m.group(1)) > 0, last
    res = run('--samples', '2', '--skip', 'corr')
    assert res.returncode != 0 and 'has no model: pass --skip step' in res.stderr


def test_device_pipeline_times_workers_and_device_augmentation():
    res = run('--pipeline', 'device', '--samples', '4', '--aug-batch', '2', '--threads', '1',
              '--skip', 'corr', 'step', config=osp.join(REPO, 'configs', 'mgc',
                                                        'mgc_vit-small-p16_1xb8-3e_coco-demo.py'))
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.strip().splitlines()
    assert any(re.fullmatch(r'device augmentation: [\d.]+ ms per batch of 2 \(cpu, 1 threads\)',
                            line) for line in lines), lines
    assert re.fullmatch(r'pipeline: [\d.]+ samples/s per worker \(1 thread, 4 samples, \d+ '
                        r'images, pixel pipeline device\)', lines[-1]), lines[-1]
    # A data-only config has no preprocessor to render with: refused, with the reason.
    res = run('--pipeline', 'device', '--samples', '2', '--skip', 'corr', 'step')
    assert res.returncode != 0 and 'time a full config with --pipeline device' in res.stderr
