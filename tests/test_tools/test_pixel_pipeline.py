"""The pixel_pipeline switch: every method's config has both paths, and the device path
trains end to end through tools/train.py."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmpretrain.registry import TRANSFORMS

from mgc_mm.utils import apply_pixel_pipeline
from tests.conftest import REPO, TINY_CONFIG
from tests.test_tools.test_train import TRAIN, last_log, run

METHODS = ('mgc', 'mocov2', 'densecl', 'mcl', 'dsc', 'mocov3', 'mugs')
CONFIGS = sorted(p for m in METHODS for p in glob.glob(osp.join(REPO, 'configs', m, '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_every_pretraining_config_has_both_pixel_pipelines(path):
    cfg = Config.fromfile(path)
    assert cfg.pixel_pipeline == 'cpu'
    before = copy.deepcopy(cfg.to_dict())
    apply_pixel_pipeline(cfg, path)  # 'cpu': nothing changes
    assert cfg.to_dict() == before
    cfg.pixel_pipeline = 'device'
    apply_pixel_pipeline(cfg, path)
    steps = cfg.train_dataloader.dataset.pipeline
    assert steps[0]['type'] == 'LoadImageFromFileSafe' and steps[0]['decode'] is False
    assert 'img_bytes' in steps[-1]['algorithm_keys']
    assert cfg.model.data_preprocessor['type'] == 'DevicePixelPreprocessor'
    # Same preprocessor arguments (normalisation) on both paths.
    assert {k: v for k, v in cfg.model.data_preprocessor.items() if k != 'type'} == \
        {k: v for k, v in before['model']['data_preprocessor'].items() if k != 'type'}
    for step in steps:  # every step builds (view pipelines are parsed at build time)
        TRANSFORMS.build(step)


def test_unknown_pixel_pipeline_is_refused_naming_the_key():
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.pixel_pipeline = 'gpu'
    with pytest.raises(ValueError, match="pixel_pipeline must be one of .* got 'gpu' in x.py"):
        apply_pixel_pipeline(cfg, 'x.py')
    cfg.pixel_pipeline = 'device'
    cfg.train_dataloader.dataset.pipeline.insert(1, dict(type='RandomGrayscale', prob=0.1))
    with pytest.raises(ValueError, match=r'step 1 \(RandomGrayscale\) of x.py has no device'):
        apply_pixel_pipeline(cfg, 'x.py')


MUGS_TINY = osp.join(REPO, 'tests', 'data', 'configs', 'mugs_vit-tiny_demo.py')


@pytest.mark.slow
@pytest.mark.parametrize('config,extra,marker', [
    (TINY_CONFIG, [], 'decode=False'),
    # 14 crops, weak / strong per sample, RandAugment and erasing rendered in batches.
    (MUGS_TINY, ['train_dataloader.dataset.indices=4', 'train_dataloader.batch_size=2'],
     'DeferredMultiViewWithKeys')], ids=['mgc', 'mugs'])
def test_device_pipeline_trains_through_train_py(tmp_path, config, extra, marker):
    work = str(tmp_path / 'work')
    res = run([TRAIN, config, '--work-dir', work, '--cfg-options', 'pixel_pipeline=device',
               'train_cfg.max_epochs=1', *extra])
    assert res.returncode == 0, res.stderr[-3000:]
    log = last_log(work)
    assert "type='DevicePixelPreprocessor'" in log and marker in log
    losses = [float(x.split()[0]) for x in log.split(' loss: ')[1:]]
    assert len(losses) == 2 and all(0 < x < 100 for x in losses)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
