"""tools/analysis_tools/knn_eval.py on a real tiny checkpoint written by tools/train.py:
the printed figures equal an independent NumPy kNN of the checkpoint's features, one
process and two gloo processes agree, and loading is strict."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mgc_mm.evaluation import ClassImages, build_backbone, knn_splits
from tests.conftest import REPO
from tests.test_evaluation.test_knn import numpy_knn, numpy_topk

TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'knn_eval.py')
DATA = osp.join(REPO, 'demo', 'data', 'coco_cls')
ARGS = ['--data-root', DATA, '--input-size', '64', '--workers', '0', '--no-progress']
ENV = dict(os.environ, OMP_NUM_THREADS='1')


def run_torchrun(*args):
    launch = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
              '--master_port', '29617']
    res = subprocess.run([*launch, TOOL, *args, *ARGS, '--launcher', 'pytorch'], cwd=REPO,
                         capture_output=True, text=True, timeout=300, env=ENV)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def load_tool():
    sys.path.insert(0, osp.dirname(TOOL))
    try:
        import knn_eval
    finally:
        sys.path.remove(osp.dirname(TOOL))
    return knn_eval


def test_knn_eval_of_a_real_checkpoint(tiny_mgc_checkpoint, tmp_path, capsys):
    # One process: the tool's main in-process (the command line runs under torchrun below).
    out = str(tmp_path / 'knn.json')
    load_tool().main([tiny_mgc_checkpoint, '--out', out, *ARGS])
    stdout = capsys.readouterr().out
    with open(out) as f:
        figures = json.load(f)
    assert 'kNN top-1 / top-5 (%) (k=20, T=0.07)  ' \
           f'{100 * figures["top1"]:.2f} / {100 * figures["top5"]:.2f}' in stdout
    assert 'images/s' in stdout and figures['images_per_s'] > 0
    assert figures['num_train_images'] == 80 and figures['num_val_images'] == 33
    assert figures['branch'] == 'online' and figures['feature_dim'] == 64

    # Independently: the checkpoint's backbone, the class token of each image, a
    # NumPy kNN.
    backbone, info = build_backbone(tiny_mgc_checkpoint)
    assert info['num_tensors'] > 0
    backbone.out_type = 'cls_token'
    train, val, classes = knn_splits(DATA)

    def feats(items):
        ds = ClassImages(items, 64)
        with torch.no_grad():
            return backbone(torch.stack([ds[i]['img'] for i in range(len(ds))]))[-1]

    ref = numpy_knn(feats(train).double().numpy(), [y for _, y in train],
                    feats(val).double().numpy(), len(classes), 20, 0.07)
    y = [y for _, y in val]
    # The tool batched the images differently (64 per forward): float32 GEMMs may block
    # differently, which can flip a near-tie of one query at most on 33.
    assert abs(figures['top1'] - numpy_topk(ref, y, 1)) <= 1 / 33 + 1e-9
    assert abs(figures['top5'] - numpy_topk(ref, y, 5)) <= 1 / 33 + 1e-9

    # Two gloo processes (images split over ranks, gathered on rank 0): same figures.
    out2 = str(tmp_path / 'knn2.json')
    stdout = run_torchrun(tiny_mgc_checkpoint, '--out', out2)
    assert stdout.count('kNN top-1') == 1  # rank 0 prints
    with open(out2) as f:
        dist_figures = json.load(f)
    assert dist_figures['world_size'] == 2
    assert dist_figures['num_val_images'] == 33
    # each rank forwards its own batches: the same one-query margin as above
    assert abs(dist_figures['top1'] - figures['top1']) <= 1 / 33 + 1e-9
    assert abs(dist_figures['top5'] - figures['top5']) <= 1 / 33 + 1e-9


def test_random_init_and_strict_loading(tiny_mgc_checkpoint, tmp_path, capsys):
    knn_eval = load_tool()
    out = str(tmp_path / 'random.json')
    knn_eval.main([tiny_mgc_checkpoint, '--random-init', '--out', out, *ARGS])
    assert 'random init' in capsys.readouterr().out
    with open(out) as f:
        figures = json.load(f)
    assert figures['random_init'] and figures['branch'] is None
    assert 0 <= figures['top1'] <= figures['top5'] <= 1

    # A checkpoint with a backbone key missing stops with the key named.
    ckpt = torch.load(tiny_mgc_checkpoint, map_location='cpu', weights_only=False)
    del ckpt['state_dict']['backbone.layers.1.attn.qkv.weight']
    broken = str(tmp_path / 'broken.pth')
    torch.save(ckpt, broken)
    with pytest.raises(RuntimeError, match=r'layers\.1\.attn\.qkv\.weight'):
        knn_eval.main([broken, *ARGS])
    # A checkpoint without any backbone key names the prefix it looked for.
    ckpt['state_dict'] = {}
    torch.save(ckpt, broken)
    with pytest.raises(KeyError, match="'backbone.'"):
        knn_eval.main([broken, *ARGS])
