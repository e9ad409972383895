"""docs/getting_started.md is run as written: every ```bash block, in order, from the
repository root."""
import json
import os
import os.path as osp
import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
DOC = osp.join(REPO, 'docs', 'getting_started.md')
WORK = osp.join(REPO, 'work_dirs', 'getting_started')


def doc_blocks():
    with open(DOC) as f:
        return re.findall(r'^```bash\n(.*?)^```', f.read(), flags=re.S | re.M)


def test_every_command_of_the_page_runs():
    blocks = doc_blocks()
    assert len(blocks) >= 8
    shutil.rmtree(WORK, ignore_errors=True)
    script = 'set -euo pipefail\n' + '\n'.join(blocks)
    try:
        res = subprocess.run(['bash', '-c', script], cwd=REPO, capture_output=True, text=True,
                             timeout=1500, env=dict(os.environ, OMP_NUM_THREADS='2'))
        out = res.stdout + res.stderr
        assert res.returncode == 0, out[-5000:]
        # What the page promises each step shows.
        runs = [d for d in os.listdir(osp.join(WORK, 'run')) if re.match(r'\d{8}_\d{6}$', d)]
        assert len(runs) == 2  # the run and its resumption
        assert osp.isfile(osp.join(WORK, 'run', 'epoch_3.pth'))
        scalars = ''.join(open(osp.join(WORK, 'run', r, 'vis_data', 'scalars.json')).read()
                          for r in runs)
        assert 'dense_probe/retrieval_mIoU' in scalars and 'loss_g16' in scalars
        assert any(n.startswith('events.out.tfevents') for r in runs
                   for n in os.listdir(osp.join(WORK, 'run', r, 'vis_data')))
        assert 'resuming from' in out and 'now ends with the loop at 3 epochs' in out
        for png in ('curves.png', 'pictures'):
            assert osp.exists(osp.join(WORK, png)), png
        probe, rand = (json.load(open(osp.join(WORK, f))) for f in ('probe.json', 'probe_random.json'))
        for key in ('linear_mIoU', 'retrieval_mIoU', 'cross_view_top1'):
            assert 0 <= probe[key] <= 1 and 0 <= rand[key] <= 1, key
        for metric in ('coco/bbox_mAP', 'coco/segm_mAP', 'mIoU', 'coco/AP'):
            assert metric in out, metric
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
