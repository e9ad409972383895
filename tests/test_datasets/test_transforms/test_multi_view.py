import copy
import os.path as osp
import random

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmpretrain.registry import DATASETS, MODELS, TRANSFORMS

from mgc_mm.datasets.transforms import MultiViewWithKeys, WeakStrongAug
from tests.conftest import DEMO_IMAGES, REPO

COCO_CFG = osp.join(REPO, 'configs', '_base_', 'datasets', 'coco_train2017_mugs.py')
IN_CFG = osp.join(REPO, 'configs', '_base_', 'datasets', 'imagenet_mugs.py')
REAL = cv2.imread(osp.join(DEMO_IMAGES, '000000000009.jpg'))
NUM_VIEWS = 14


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(COCO_CFG)


@pytest.fixture(scope='module')
def dataset(cfg):
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = osp.dirname(DEMO_IMAGES)
    return DATASETS.build(ds_cfg)


def seed_all(seed):
    # mmcv's RandomGrayscale draws from Python's `random`, the rest from NumPy's.
    random.seed(seed)
    np.random.seed(seed)


def seeded(fn, seed):
    seed_all(seed)
    return fn()


def views_equal(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_full_pipeline_views_sizes_and_flags(dataset):
    n_strong_locals = 0
    for i, seed in enumerate(range(3)):
        out = seeded(lambda: dataset[i], seed)
        views, flags = out['inputs'], out['data_samples'].weak_aug
        assert len(views) == NUM_VIEWS
        assert [tuple(v.shape) for v in views] == [(3, 224, 224)] * 4 + [(3, 96, 96)] * 10
        assert all(v.dtype == torch.uint8 for v in views)  # BGR uint8 until the preprocessor
        assert isinstance(flags, torch.Tensor) and flags.dtype == torch.bool
        assert flags.shape == (NUM_VIEWS, )
        assert flags[:2].all()  # teacher globals are always weak
        assert flags[2] == flags[3]  # one draw for both student globals
        n_strong_locals += int((~flags[4:]).sum())
    assert n_strong_locals > 0


def test_view_order_and_recipes(cfg):
    """The 14 views are, in order, the teacher recipes, the student globals (both
    weak recipes or two strong crops) and the locals, drawn in that order."""
    mv = TRANSFORMS.build(cfg.train_pipeline[1])
    pipes = {k: Compose(cfg[k]) for k in ('weak_global_0', 'weak_global_1', 'strong_global',
                                           'weak_local', 'strong_local')}
    for seed in (0, 1, 2, 3):
        out = seeded(lambda: mv(dict(img=REAL.copy())), seed)
        seed_all(seed)
        ref = [pipes['weak_global_0'](dict(img=REAL.copy()))['img'],
               pipes['weak_global_1'](dict(img=REAL.copy()))['img']]
        strong_student = np.random.rand() < 0.5
        if strong_student:
            ref += [pipes['strong_global'](dict(img=REAL.copy()))['img'] for _ in range(2)]
        else:
            ref += [pipes['weak_global_0'](dict(img=REAL.copy()))['img'],
                    pipes['weak_global_1'](dict(img=REAL.copy()))['img']]
        flags = [True, True, not strong_student, not strong_student]
        for _ in range(10):
            strong = np.random.rand() < 0.5
            ref.append(pipes['strong_local' if strong else 'weak_local'](
                dict(img=REAL.copy()))['img'])
            flags.append(not strong)
        assert all(np.array_equal(a, b) for a, b in zip(out['img'], ref))
        assert out['weak_aug'].tolist() == flags


@pytest.mark.parametrize('seed', range(6))
def test_weak_strong_equals_chosen_pipeline(cfg, seed):
    aug = WeakStrongAug(weak=cfg.weak_local, strong=cfg.strong_local, strong_prob=0.5)
    seed_all(seed)
    out = aug(dict(img=REAL.copy()))
    after_out = np.random.rand()
    seed_all(seed)
    strong = np.random.rand() < 0.5
    ref = Compose(cfg.strong_local if strong else cfg.weak_local)(dict(img=REAL.copy()))
    assert out['weak_aug'] is (not strong)
    assert np.array_equal(out['img'], ref['img'])
    assert np.random.rand() == after_out  # and the same RNG stream afterwards


def test_weak_strong_branches_both_seen():
    np.random.seed(0)
    aug = WeakStrongAug(weak=[], strong=[], strong_prob=0.5)
    seen = {aug(dict(img=REAL))['weak_aug'] for _ in range(6)}
    assert seen == {True, False}


def test_strong_frequency():
    n = 4000
    np.random.seed(123)
    aug = WeakStrongAug(weak=[], strong=[], strong_prob=0.5)
    frac = np.mean([not aug(dict(img=None))['weak_aug'] for _ in range(n)])
    # Binomial std of the fraction: sqrt(0.5 * 0.5 / 4000) = 0.0079; allow 4 std.
    assert abs(frac - 0.5) < 4 * np.sqrt(0.25 / n)


def test_weak_only_draws_nothing():
    np.random.seed(5)
    state = np.random.get_state()[1].copy()
    aug = WeakStrongAug(weak=[], strong_prob=0.)
    assert all(aug(dict(img=None))['weak_aug'] for _ in range(10))
    assert np.array_equal(np.random.get_state()[1], state)
    always = WeakStrongAug(weak=[], strong=[], strong_prob=1.)
    assert not any(always(dict(img=None))['weak_aug'] for _ in range(10))
    with pytest.raises(ValueError):
        WeakStrongAug(weak=[], strong_prob=0.5)
    with pytest.raises(ValueError):
        WeakStrongAug(weak=[], strong=[], strong_prob=1.5)


def test_same_seed_same_sample_other_seed_differs(dataset):
    a = seeded(lambda: dataset[4], 7)
    b = seeded(lambda: dataset[4], 7)
    c = seeded(lambda: dataset[4], 8)
    assert views_equal(a['inputs'], b['inputs'])
    assert torch.equal(a['data_samples'].weak_aug, b['data_samples'].weak_aug)
    assert not any(torch.equal(x, y) for x, y in zip(a['inputs'], c['inputs']))


def test_collate_and_preprocess(cfg, dataset):
    seed_all(0)
    samples = [dataset[0], dataset[1]]
    batch = default_collate(samples)
    out = MODELS.build(cfg.data_preprocessor)(batch, training=True)
    inputs = out['inputs']
    assert len(inputs) == NUM_VIEWS
    assert [tuple(x.shape) for x in inputs] == [(2, 3, 224, 224)] * 4 + [(2, 3, 96, 96)] * 10
    weak = torch.stack([s.weak_aug for s in out['data_samples']])
    assert weak.shape == (2, NUM_VIEWS) and weak.dtype == torch.bool and weak[:, :2].all()
    # BGR -> RGB and ImageNet normalisation.
    mean = torch.tensor(cfg.data_preprocessor.mean).view(3, 1, 1)
    std = torch.tensor(cfg.data_preprocessor.std).view(3, 1, 1)
    ref = (samples[1]['inputs'][5].flip(0).float() - mean) / std
    assert torch.allclose(inputs[5][1], ref, atol=1e-5)


def test_random_erasing_on_bgr_uint8(cfg):
    erase = TRANSFORMS.build(dict(cfg.strong_aug[1], erase_prob=1.0))
    np.random.seed(0)
    img = np.zeros((224, 224, 3), np.uint8)
    out = erase(dict(img=img))['img']
    patch = out[out.any(-1)]
    assert out.dtype == np.uint8 and len(patch) > 0.02 * 224 * 224 * 0.9
    # Noise around the BGR mean colour (B < G < R).
    assert np.allclose(patch.mean(0), cfg.bgr_mean, atol=4)


def test_multi_view_with_keys_nesting_and_errors():
    def view(value):
        return lambda r: dict(r, img=r['img'] + value, flag=value > 1)

    inner = dict(type='MultiViewWithKeys', keys=[], num_views=[1, 1],
                 transforms=[[view(1)], [view(2)]])
    mv = MultiViewWithKeys(
        transforms=[[view(0)], [inner, lambda r: dict(r, flag=np.bool_(True))], [view(3)]],
        num_views=[1, 1, 2], keys=('flag', ))
    out = mv(dict(img=np.zeros(1)))
    assert [float(v[0]) for v in out['img']] == [0, 1, 2, 3, 3]
    assert out['flag'].tolist() == [False, True, True, True, True]
    assert MultiViewWithKeys([[lambda r: None]], 2)(dict(img=0)) is None
    with pytest.raises(KeyError):
        MultiViewWithKeys([[view(0)]], 1, keys=('missing', ))(dict(img=np.zeros(1)))
    assert 'keys=' in repr(mv)


def test_imagenet_config_same_pipeline(cfg):
    imnet = Config.fromfile(IN_CFG)
    assert imnet.train_dataloader.dataset.pipeline == cfg.train_dataloader.dataset.pipeline
    assert imnet.train_dataloader.dataset.data_root == 'data/imagenet/'
    assert imnet.train_dataloader.collate_fn == dict(type='default_collate')
    assert imnet.train_dataloader.batch_size == 64 and imnet.train_dataloader.num_workers == 8
