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


def run(*args):
    return subprocess.run([sys.executable, TOOL, MUGS_DATA, '--data-root', DEMO_ROOT, *args],
                          cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True, text=True, timeout=300)


def test_data_only_config_times_its_pipeline_and_refuses_the_step():
    res = run('--samples', '4', '--skip', 'corr', 'step')
    assert res.returncode == 0, res.stderr[-3000:]
    last = res.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r'pipeline: ([\d.]+) samples/s per worker \(1 thread, 4 samples, \d+ images\)',
                     last)
    assert m and float(m.group(1)) > 0, last
    res = run('--samples', '2', '--skip', 'corr')
    assert res.returncode != 0 and 'has no model: pass --skip step' in res.stderr
