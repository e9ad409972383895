"""tools/model_converters/extract_backbone.py and mgc_mm.utils.extract_backbone: the
backbone-only file loads into the benchmark configs exactly like the full checkpoint."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

from mgc_mm.utils import extract_backbone, set_pretrained
from tests.conftest import REPO

TOOL = osp.join(REPO, 'tools', 'model_converters', 'extract_backbone.py')
TINY = osp.join(REPO, 'tests', 'data', 'configs')
# The shrunken mmdet / mmseg / mmpose benchmark configs fine-tune the tiny checkpoint;
# ViTPose (td-hm) drops the class token, the others keep every tensor.
BENCHMARKS = ('mask-rcnn_mgc-vit-tiny_demo.py', 'fpn_mgc-vit-tiny_demo.py',
              'td-hm_mgc-vit-tiny_demo.py')
MOMENTUM = 'momentum_encoder.module.backbone.'


def run_tool(*args):
    return subprocess.run([sys.executable, TOOL, *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def loaded_backbone(config, checkpoint, branch=None):
    """The benchmark config's backbone after ``--pretrained checkpoint``
    (``--pretrained-branch branch``): strict, raises on missing / unexpected keys."""
    cfg = Config.fromfile(osp.join(TINY, config))
    set_pretrained(cfg, str(checkpoint), branch, config)
    torch.manual_seed(0)
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    return backbone.state_dict()


@pytest.fixture(scope='module')
def extracted(tiny_mgc_checkpoint, tmp_path_factory):
    folder = tmp_path_factory.mktemp('extracted')
    files = {}
    for branch in ('online', 'momentum'):
        files[branch] = folder / f'{branch}.pth'
        res = run_tool(tiny_mgc_checkpoint, files[branch], '--branch', branch)
        assert res.returncode == 0, res.stderr[-3000:]
        assert f'({branch} backbone as backbone.*)' in res.stdout
    return files


@pytest.mark.slow
def test_extracted_file_holds_only_the_backbone(tiny_mgc_checkpoint, extracted):
    full = torch.load(tiny_mgc_checkpoint, map_location='cpu', weights_only=False)
    for branch, prefix in (('online', 'backbone.'), ('momentum', MOMENTUM)):
        out = torch.load(extracted[branch], map_location='cpu', weights_only=False)
        assert set(out) == {'state_dict', 'meta'}  # no optimizer / scheduler / message hub
        expected = {k[len(prefix):]: v for k, v in full['state_dict'].items()
                    if k.startswith(prefix)}
        assert sorted(out['state_dict']) == sorted('backbone.' + k for k in expected)
        for k, v in expected.items():
            assert torch.equal(out['state_dict']['backbone.' + k], v), (branch, k)
        # The source's meta is kept, with where the tensors came from.
        for k in full['meta']:
            assert k in out['meta'], k
        assert out['meta']['extract_backbone'] == dict(
            source=osp.basename(tiny_mgc_checkpoint), branch=branch, prefix=prefix,
            num_tensors=len(expected))
        # The file is the tensors plus pickling overhead and meta (the config text).
        nbytes = sum(v.numel() * v.element_size() for v in expected.values())
        assert nbytes < osp.getsize(extracted[branch]) < nbytes + 200 * 1024
    # EMA has moved the target away from the online weights: the branches differ.
    a = torch.load(extracted['online'], weights_only=False)['state_dict']
    b = torch.load(extracted['momentum'], weights_only=False)['state_dict']
    assert not torch.equal(a['backbone.layers.0.attn.qkv.weight'],
                           b['backbone.layers.0.attn.qkv.weight'])


@pytest.mark.slow
@pytest.mark.parametrize('config', BENCHMARKS)
def test_extracted_file_loads_like_the_full_checkpoint(config, tiny_mgc_checkpoint, extracted):
    for branch in ('online', 'momentum'):
        reference = loaded_backbone(config, tiny_mgc_checkpoint, branch)
        # default --pretrained flags, whatever branch was extracted
        got = loaded_backbone(config, extracted[branch])
        assert set(got) == set(reference)
        for k, v in reference.items():
            assert torch.equal(got[k], v), (config, branch, k)


def test_missing_backbone_errors(tmp_path):
    with pytest.raises(KeyError, match=r"foo\.pth has no online backbone.*'backbone\.'"):
        extract_backbone({'state_dict': {'neck.fc.weight': torch.ones(1)}}, source='foo.pth')
    with pytest.raises(KeyError, match='momentum_encoder.module.backbone.'):
        extract_backbone({'state_dict': {'backbone.x': torch.ones(1)}}, 'momentum')
    with pytest.raises(ValueError, match='branch'):
        extract_backbone({'state_dict': {'backbone.x': torch.ones(1)}}, 'target')
    # An extracted file holds one branch under backbone.: the message says so.
    once = extract_backbone({'state_dict': {MOMENTUM + 'x': torch.ones(1)}, 'meta': {}},
                            'momentum', source='a.pth')
    with pytest.raises(KeyError, match='already an extracted momentum backbone'):
        extract_backbone(once, 'momentum')
    again = extract_backbone(once, 'online', source='b.pth')  # idempotent, origin kept
    assert again['meta']['extract_backbone']['source'] == 'a.pth'
    assert list(again['state_dict']) == ['backbone.x']
    # module. and a 'model' entry are looked through; meta defaults to {}
    out = extract_backbone({'model': {'module.backbone.y': torch.zeros(2)}})
    assert list(out['state_dict']) == ['backbone.y']


@pytest.mark.slow
def test_tool_errors(tmp_path):
    # The tool names the file and the prefixes and leaves no output behind.
    src, dst = tmp_path / 'heads.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': {'head.w': torch.ones(1)}, 'meta': {}}, src)
    res = run_tool(src, dst)
    assert res.returncode != 0
    assert 'heads.pth' in res.stderr and "'backbone.'" in res.stderr
    assert not dst.exists() and not list(tmp_path.glob('.out.pth*'))
    res = run_tool(src, src)
    assert res.returncode != 0 and 'same file' in res.stderr
