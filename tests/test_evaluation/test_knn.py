"""Weighted kNN (DINO protocol): the vote against an independent NumPy kNN, the folder
loader's errors, and KNNEval on the bundled real COCO instance crops."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

from mgc_mm.evaluation import (ClassImages, KNNEval, global_features, knn_scores,
                               knn_splits, resize_center_crop, topk_accuracy)
from tests.conftest import REPO, tiny_mgc_cfg

COCO_CLS = osp.join(REPO, 'demo', 'data', 'coco_cls')


def numpy_knn(train, train_y, query, num_classes, k, T):
    """DINO's eval_knn.py vote written out in float64 NumPy: cosine similarity of
    L2-normalised features, the k most similar train images vote exp(sim / T) for
    their class; returns the raw vote sums (Q, num_classes)."""
    train = train / np.linalg.norm(train, axis=1, keepdims=True)
    query = query / np.linalg.norm(query, axis=1, keepdims=True)
    sim = query @ train.T
    votes = np.zeros((len(query), num_classes))
    for q in range(len(query)):
        nn_idx = np.argsort(-sim[q], kind='stable')[:k]
        for i in nn_idx:
            votes[q, train_y[i]] += np.exp(sim[q, i] / T)
    return votes


def numpy_topk(votes, labels, t):
    order = np.argsort(-votes, axis=1, kind='stable')  # ties to the smaller class
    return float(np.mean([labels[q] in order[q, :t] for q in range(len(labels))]))


@pytest.mark.parametrize('k,bank_chunk', [(20, 65536), (7, 9), (200, 16)])
def test_vote_equals_numpy_reference(k, bank_chunk):
    rng = np.random.default_rng(k)
    train = rng.normal(size=(60, 16))
    train_y = rng.integers(0, 6, size=60)
    query = rng.normal(size=(40, 16))
    query_y = rng.integers(0, 6, size=40)
    ref = numpy_knn(train, train_y, query, 6, min(k, 60), 0.07)
    # Small chunks exercise the running top-k across memory chunks; k=200 > memory.
    scores = knn_scores(torch.tensor(train, dtype=torch.float32), torch.tensor(train_y),
                        torch.tensor(query, dtype=torch.float32), 6, k, 0.07,
                        query_chunk=13, bank_chunk=bank_chunk)
    assert scores.shape == (40, 6)
    # float32 similarities vs float64: exp(s / 0.07) turns an error of ~1e-7 in s into
    # a relative ~2e-6 in a weight; the shares are compared at 1e-4.
    np.testing.assert_allclose(scores.numpy(), ref / ref.sum(1, keepdims=True), rtol=1e-4,
                               atol=1e-6)
    acc = topk_accuracy(scores, torch.tensor(query_y), (1, 5))
    assert acc[1] == numpy_topk(ref, query_y, 1)
    assert acc[5] == numpy_topk(ref, query_y, 5)
    assert 0 <= acc[1] <= acc[5] <= 1


def test_separable_features_are_all_right():
    # Each class on its own axis (plus noise): every neighbour is of the query's class.
    gen = torch.Generator().manual_seed(0)
    centres = torch.eye(5, 12) * 10
    train_y = torch.arange(5).repeat(8)
    query_y = torch.arange(5).repeat(3)
    train = centres[train_y] + 0.1 * torch.randn(40, 12, generator=gen)
    query = centres[query_y] + 0.1 * torch.randn(15, 12, generator=gen)
    scores = knn_scores(train, train_y, query, 5, k=20, temperature=0.07)
    acc = topk_accuracy(scores, query_y, (1, 5))
    assert acc == {1: 1.0, 5: 1.0}
    # k=20 > 8 per class: other classes get votes, but far smaller ones.
    assert (scores.argmax(1) == query_y).all()
    # Labels shifted by one: nothing is right at top-1.
    assert topk_accuracy(scores, (query_y + 1) % 5, (1, ))[1] == 0.0


def test_topk_ties_and_errors():
    scores = torch.tensor([[0.5, 0.5, 0.], [0., 0., 1.]])
    # stable: a tie goes to the smaller class
    assert topk_accuracy(scores, torch.tensor([0, 2]), (1, ))[1] == 1.0
    assert topk_accuracy(scores, torch.tensor([1, 2]), (1, 2))[1] == 0.5
    assert topk_accuracy(scores, torch.tensor([1, 2]), (5, ))[5] == 1.0  # capped at 3
    with pytest.raises(ValueError, match='2 score rows for 1 labels'):
        topk_accuracy(scores, torch.tensor([0]))
    with pytest.raises(ValueError, match=r'\(N, C\) memory and \(Q, C\) query'):
        knn_scores(torch.ones(4, 3), torch.zeros(4, dtype=torch.long), torch.ones(2, 5), 2)
    with pytest.raises(ValueError, match=r'memory labels outside \[0, 2\)'):
        knn_scores(torch.ones(4, 3), torch.tensor([0, 1, 2, 0]), torch.ones(2, 3), 2)
    with pytest.raises(ValueError, match='temperature must be positive'):
        knn_scores(torch.ones(4, 3), torch.zeros(4, dtype=torch.long), torch.ones(2, 3), 2,
                   temperature=0)
    with pytest.raises(ValueError, match='pool must be one of'):
        KNNEval([], [], num_classes=2, pool='max')


def _touch_image(path):
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((20, 30, 3), 128, np.uint8))


def test_folder_loader_and_its_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"image folder '{tmp_path}/train' does not"):
        knn_splits(str(tmp_path))
    (tmp_path / 'train').mkdir()
    with pytest.raises(FileNotFoundError, match='train.* has no class subfolders'):
        knn_splits(str(tmp_path))
    _touch_image(str(tmp_path / 'train' / 'dog' / 'a.jpg'))
    _touch_image(str(tmp_path / 'train' / 'cat' / 'sub' / 'b.PNG'))  # nested, any case
    (tmp_path / 'train' / 'owl').mkdir()
    with pytest.raises(FileNotFoundError, match=r"class folders \['owl'\] of .*train"):
        knn_splits(str(tmp_path))
    (tmp_path / 'train' / 'owl').rmdir()
    _touch_image(str(tmp_path / 'val' / 'dog' / 'c.jpg'))
    _touch_image(str(tmp_path / 'val' / 'emu' / 'd.jpg'))
    with pytest.raises(ValueError, match=r"classes \['emu'\] of .*val.* not among the 2"):
        knn_splits(str(tmp_path))
    os.remove(tmp_path / 'val' / 'emu' / 'd.jpg')
    os.rmdir(tmp_path / 'val' / 'emu')
    train, val, classes = knn_splits(str(tmp_path))
    assert classes == ['cat', 'dog']
    assert [(osp.basename(p), y) for p, y in train] == [('b.PNG', 0), ('a.jpg', 1)]
    assert [(osp.basename(p), y) for p, y in val] == [('c.jpg', 1)]
    # an explicit val folder elsewhere
    _, val2, _ = knn_splits(None, str(tmp_path / 'train'), str(tmp_path / 'val'))
    assert val2 == val


def test_resize_center_crop():
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, 100:] = 255  # right half white
    out = resize_center_crop(img, 56)  # short side -> 64, 64 x 128, centre 56 x 56
    assert out.shape == (56, 56, 3)
    assert out[:, :26].max() < 10 and out[:, 30:].min() > 245


def test_bundled_folder():
    train, val, classes = knn_splits(COCO_CLS)
    assert len(classes) == 8 and 'person' in classes
    assert len(train) == 80 and len(val) == 33
    assert {y for _, y in val} == set(range(8))  # every class is queried
    # by-image split: no photograph has crops of one class in both splits
    image_id = lambda p: osp.basename(p).split('_')[0]  # noqa: E731
    for c in range(8):
        assert not ({image_id(p) for p, y in train if y == c}
                    & {image_id(p) for p, y in val if y == c}), classes[c]
    total = sum(osp.getsize(p) for p, _ in train + val)
    assert total < 2 * 2**20


@pytest.fixture(scope='module')
def tiny_vit():
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    from mgc_mm.evaluation.dense_probe import _quiet_init
    with DefaultScope.overwrite_default_scope('mmpretrain'), torch.random.fork_rng():
        torch.manual_seed(0)
        backbone = MODELS.build(tiny_mgc_cfg()['backbone'])
        _quiet_init(backbone)
    backbone.eval()  # not chained: MoCoV3ViT.train() returns None
    return backbone


def test_knn_eval_on_real_crops(tiny_vit):
    """KNNEval's figures on the real folder equal the NumPy kNN of the same images'
    class tokens, computed here without KNNEval."""
    train, val, classes = knn_splits(COCO_CLS, max_train=40, max_val=20)
    knn = KNNEval(train, val, num_classes=len(classes), input_size=64, batch_size=16,
                  progress=False)
    tiny_vit.train()
    feats = knn.extract(tiny_vit)
    # mode and out_type as before; the ViT gave its class token for the kNN only
    assert tiny_vit.training and tiny_vit.out_type == 'featmap'
    tiny_vit.eval()
    assert feats['train'].shape == (40, 64) and feats['val'].shape == (20, 64)

    # Independent features: the class token of the same preprocessed images.
    tiny_vit.out_type = 'cls_token'
    try:
        with torch.no_grad():
            imgs = torch.stack([ClassImages(val, 64)[i]['img'] for i in range(len(val))])
            ref_val = tiny_vit(imgs)[-1]
    finally:
        tiny_vit.out_type = 'featmap'
    # Same images, other batch composition: float32 GEMMs may block differently.
    torch.testing.assert_close(feats['val'], ref_val, rtol=1e-4, atol=1e-5)
    assert feats['val_labels'].tolist() == [y for _, y in val]

    figures = knn.evaluate(feats)
    ref = numpy_knn(feats['train'].double().numpy(), feats['train_labels'].numpy(),
                    feats['val'].double().numpy(), len(classes), 20, 0.07)
    y = feats['val_labels'].numpy()
    assert figures['top1'] == numpy_topk(ref, y, 1)
    assert figures['top5'] == numpy_topk(ref, y, 5)
    assert figures['num_train_images'] == 40 and figures['num_val_images'] == 20
    assert figures['feature_dim'] == 64

    # pool='avg': the mean of the patch-token map, a different feature
    avg = KNNEval(train[:4], val[:4], num_classes=8, input_size=64, pool='avg',
                  progress=False).extract(tiny_vit)
    with torch.no_grad():
        imgs = torch.stack([ClassImages(val[:4], 64)[i]['img'] for i in range(4)])
        ref_avg = global_features(tiny_vit, imgs)
    torch.testing.assert_close(avg['val'], ref_avg, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(avg['val'], feats['val'][:4])


def test_global_features_of_a_resnet_and_errors():
    from mmpretrain.models import ResNet
    net = ResNet(18, out_indices=(3, ))
    net.eval()  # not chained: mmpretrain's ResNet.train() returns None
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = global_features(net, x)
        torch.testing.assert_close(out, net(x)[-1].mean((2, 3)))
    assert out.shape == (2, 512)
    with pytest.raises(ValueError, match="pool='cls': ResNet has no class token"):
        KNNEval([('a', 0)], [('b', 0)], pool='cls').extract(net)
    with pytest.raises(ValueError, match=r'backbone output \(2, 5, 7\) is neither'):
        global_features(lambda imgs: torch.zeros(2, 5, 7), x)
