"""Dense probes (mgc_mm.evaluation.dense_probe) on the bundled real COCO images and
semantic masks (0 = unlabeled, 1..133 = classes; reduce_zero_label -> 133 classes)."""
import importlib.util
import json
import math
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from PIL import Image

from mgc_mm.evaluation import (DenseProbe, ProbeViewPairs, build_backbone, confusion_matrix,
                               cross_view_consistency, exclude_images, find_labeled_images,
                               knn_vote, miou_from_confusion, patch_labels, read_mask,
                               split_labeled_images, train_linear_probe)
from tests.conftest import DEMO_IMAGES, REPO, tiny_mgc_cfg

ANN_DIR = osp.join(REPO, 'demo', 'data', 'coco', 'annotations', 'semantic_train2017')
CLASSES = osp.join(REPO, 'demo', 'data', 'coco', 'annotations', 'semantic_classes.json')
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'dense_probe.py')
NUM_CLASSES = 133
GRID = (14, 14)  # 224 / 16


@pytest.fixture(scope='module')
def data():
    pairs = find_labeled_images(DEMO_IMAGES, ANN_DIR)
    train, val = split_labeled_images(pairs, val_fraction=0.25, seed=0)
    return pairs, train, val


def labels_of(pairs, grid=GRID):
    return torch.stack([patch_labels(read_mask(m, reduce_zero_label=True), grid, 224)
                        for _, m in pairs])


def one_hot_maps(labels):
    """(N, h, w) labels -> (N, K, h, w) one-hot features; ignored patches -> zeros."""
    oh = F.one_hot(labels.clamp(max=NUM_CLASSES), NUM_CLASSES + 1)[..., :NUM_CLASSES]
    return oh.permute(0, 3, 1, 2).float()


def test_folder_split_is_deterministic_and_complete(data):
    pairs, train, val = data
    assert len(pairs) == 32  # every bundled image has a mask
    assert all(osp.basename(i)[:-4] == osp.basename(m)[:-4] for i, m in pairs)
    assert (len(train), len(val)) == (24, 8)
    assert sorted(train + val) == sorted(pairs) and not set(train) & set(val)
    assert split_labeled_images(pairs, 0.25, seed=0) == (train, val)
    assert split_labeled_images(pairs, 0.25, seed=1)[1] != val
    stems = [osp.basename(i)[:-4] for i, _ in val]
    tr, va = split_labeled_images(pairs, val_list=stems[:3])
    assert va == val[:3] and len(tr) == 29
    with pytest.raises(KeyError, match='nope'):
        split_labeled_images(pairs, val_list=['nope'])


def load_tool():
    spec = importlib.util.spec_from_file_location('dense_probe_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exclude_dir_leaves_out_the_pretraining_images(data, tmp_path):
    pairs, _, _ = data
    stems = [osp.basename(i)[:-4] for i, _ in pairs]
    pretrain = tmp_path / 'pretrain'
    (pretrain / 'sub').mkdir(parents=True)
    for stem in stems[3:8]:  # only the names count; nested folders are searched
        (pretrain / 'sub' / f'{stem}.jpg').write_bytes(b'')
    (pretrain / f'{stems[0]}.txt').write_text('not an image')
    assert exclude_images(pairs, [str(pretrain)]) == pairs[:3] + pairs[8:]
    with pytest.raises(FileNotFoundError, match='nowhere'):
        exclude_images(pairs, [str(tmp_path / 'nowhere')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no image'):
        exclude_images(pairs, [str(tmp_path / 'empty')])
    with pytest.raises(ValueError, match='nothing left'):
        exclude_images(pairs, [DEMO_IMAGES])

    # The tool: the seeded split of what is left, and lists naming left-out images refused.
    tool = load_tool()
    demo_cfg = osp.join(REPO, 'configs', 'mugs', 'mugs_vit-small-p16_1xb8-3e_coco-demo.py')
    common = ['--random-init', '--config', demo_cfg,
              '--data-root', osp.join(REPO, 'demo', 'data', 'coco'),
              '--exclude-dir', str(pretrain), '--val-fraction', '0.25']
    train, val = tool.build_splits(tool.parse_args(common))
    assert sorted(train + val) == sorted(pairs[:3] + pairs[8:])
    assert (len(train), len(val)) == (20, 7) and not set(train) & set(val)
    listed = tmp_path / 'val.txt'
    listed.write_text(f'{stems[0]}\n{stems[4]}\n')
    with pytest.raises(ValueError, match=stems[4]):
        tool.build_splits(tool.parse_args(common + ['--val-list', str(listed)]))


def test_mask_reduction_and_patch_labels(data):
    _, mask_path = data[0][0]
    raw = np.asarray(Image.open(mask_path)).astype(np.int64)
    reduced = read_mask(mask_path, reduce_zero_label=True)
    assert (reduced[raw == 0] == 255).all() and (reduced[raw > 0] == raw[raw > 0] - 1).all()
    # 4x4 mask, 2x2 patches: a tie goes to the smaller class, unlabeled (255) wins only
    # when strictly most frequent.
    m = np.array([[1, 2, 255, 255],
                  [1, 2, 255, 5],
                  [255, 255, 7, 7],
                  [5, 5, 7, 7]])
    assert patch_labels(m, (2, 2), 4).tolist() == [[1, 255], [5, 7]]
    # 'nearest': the pixel at each patch centre (index 1 and 3 of each axis).
    assert patch_labels(m, (2, 2), 4, mode='nearest').tolist() == [[2, 5], [5, 7]]


def test_miou_matches_mmseg_on_hand_made_case():
    pred = torch.tensor([0, 0, 1, 1, 2, 2])
    gt = torch.tensor([0, 1, 1, 1, 255, 0])
    cm = confusion_matrix(pred, gt, 4)
    res = miou_from_confusion(cm)
    # IoU: class 0 = 1/3, class 1 = 2/3, class 2 = 0 (predicted, never true), class 3
    # absent from both (NaN, not averaged): mean over 3 classes.
    assert res['mIoU'] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert math.isnan(float(res['IoU'][3])) and res['aAcc'] == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match=r'\[7\]'):
        confusion_matrix(pred, torch.tensor([0, 1, 7, 1, 1, 0]), 4)


def test_retrieval_of_one_hot_labels_is_exact(data):
    pairs, _, val = data
    # Memory: every image; queries: the val images. Each val patch's label is in the
    # memory, its one-hot feature has cosine 1 with those patches and 0 with all
    # others, so the vote is exact.
    probe = DenseProbe(pairs, val, measurements=('retrieval', ), num_classes=NUM_CLASSES,
                       reduce_zero_label=True, eval_resolution='patch')
    feats = dict(train=one_hot_maps(labels_of(pairs)), val=one_hot_maps(labels_of(val)))
    out = probe.evaluate(feats)
    assert out['retrieval_mIoU'] == 1.0 and out['retrieval_aAcc'] == 1.0
    assert out['num_val_patches'] == 8 * 196
    assert out['num_train_patches'] == int((labels_of(pairs) != 255).sum())


def test_retrieval_of_random_features_is_near_chance(data):
    _, train, val = data
    probe = DenseProbe(train, val, measurements=('retrieval', ), num_classes=NUM_CLASSES,
                       reduce_zero_label=True, eval_resolution='patch', k=1)
    gen = torch.Generator().manual_seed(0)
    feats = dict(train=torch.randn(24, 64, *GRID, generator=gen),
                 val=torch.randn(8, 64, *GRID, generator=gen))
    miou = probe.evaluate(feats)['retrieval_mIoU']
    # With random features the k=1 neighbour is a uniform draw from the memory, so a
    # prediction is a draw from the memory's label distribution p, independent of the
    # truth (distribution q over ~1.5k labeled val patches). Expected IoU of class c:
    # q_c p_c / (q_c + p_c - q_c p_c). Averaged over the classes in val only, that is
    # an upper bound of the expected mIoU; averaged over all classes in val or memory
    # (each memory class predicted somewhere, adding IoU 0) a lower one. Sampling noise
    # (~10% over seeds here) stays well inside a factor of 2 on either side.
    def hist(y):
        y = y[y != 255]
        return torch.bincount(y, minlength=NUM_CLASSES).double() / len(y)
    p, q = hist(labels_of(train).flatten()), hist(labels_of(val).flatten())
    iou = q * p / (q + p - q * p)
    upper, lower = float(iou[q > 0].mean()), float(iou[(q > 0) | (p > 0)].mean())
    assert upper < 0.01  # chance is ~0.3-0.8% mIoU on these 133 classes
    assert lower / 2 < miou < 2 * upper, (miou, lower, upper)


def test_probe_miou_equals_mmseg_iou_metric(data):
    from mmseg.evaluation import IoUMetric
    _, train, val = data
    probe = DenseProbe(train, val, measurements=('linear', 'retrieval'),
                       num_classes=NUM_CLASSES, reduce_zero_label=True,
                       linear_cfg=dict(epochs=3))
    gen = torch.Generator().manual_seed(0)
    noisy = {s: one_hot_maps(labels_of(p)) + 0.15 * torch.randn(len(p), NUM_CLASSES, *GRID,
                                                           generator=gen)
             for s, p in (('train', train), ('val', val))}
    preds = list(probe.predictions(noisy))
    assert [gt.shape for _, gt, _ in preds] == [read_mask(m).shape for _, m in val]
    # The figures of a second, independent run (seeded: the same predictions).
    figures = probe.evaluate(noisy)
    with open(CLASSES) as f:
        names = json.load(f)[1:]
    for name in ('linear', 'retrieval'):
        metric = IoUMetric(ignore_index=255)
        metric.dataset_meta = dict(classes=names)
        cm = torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.long)
        for _, gt, pred in preds:
            metric.process({}, [dict(pred_sem_seg=dict(data=pred[name][None]),
                                     gt_sem_seg=dict(data=gt[None]))])
            cm += confusion_matrix(pred[name], gt, NUM_CLASSES)
        ours = miou_from_confusion(cm)
        # Per class: mmseg counts pixels with float32 histograms (exact below 2**24
        # pixels) and divides in float32; ours divides in float64.
        areas = [sum(r[i] for r in metric.results) for i in range(4)]
        ref = IoUMetric.total_area_to_metrics(*areas, metrics=['mIoU'])['IoU']
        np.testing.assert_allclose(ours['IoU'].numpy(), ref, rtol=1e-6, equal_nan=True)
        # Summary: mmseg rounds to 2 decimals of a percent.
        summary = metric.compute_metrics(metric.results)
        assert abs(100 * ours['mIoU'] - summary['mIoU']) <= 0.005 + 1e-9
        assert abs(100 * ours['aAcc'] - summary['aAcc']) <= 0.005 + 1e-9
        assert figures[f'{name}_mIoU'] == ours['mIoU']
        assert 0.05 < ours['mIoU'] < 1  # informative but imperfect predictions


def test_linear_probe_learns_separable_problems(data):
    gen = torch.Generator().manual_seed(0)
    means = 4 * torch.eye(4, 8)
    y = torch.randint(0, 4, (800, ), generator=gen)
    x = means[y] + 0.5 * torch.randn(800, 8, generator=gen)
    probe = train_linear_probe(x[:400], y[:400], 4, epochs=20, batch_size=64)
    # Clusters 5.7 apart with std 0.5: the Bayes error is ~1e-8, any working probe is
    # exact on the 400 held-out points.
    assert (probe(x[400:]).argmax(1) == y[400:]).all()
    again = train_linear_probe(x[:400], y[:400], 4, epochs=20, batch_size=64)
    assert torch.equal(probe.fc.weight, again.fc.weight)  # seeded, no global RNG
    # One-hot label features of the real masks: linearly separable by construction.
    pairs, _, val = data
    probe = DenseProbe(pairs, val, measurements=('linear', ), num_classes=NUM_CLASSES,
                       reduce_zero_label=True, eval_resolution='patch')
    out = probe.evaluate(dict(train=one_hot_maps(labels_of(pairs)),
                              val=one_hot_maps(labels_of(val))))
    assert out['linear_mIoU'] == 1.0


def test_knn_vote_is_chunk_invariant_and_weighted():
    gen = torch.Generator().manual_seed(0)
    bank, q = torch.randn(500, 16, generator=gen), torch.randn(70, 16, generator=gen)
    labels = torch.randint(0, 5, (500, ), generator=gen)
    full = knn_vote(q, bank, labels, 5, k=10, temperature=0.1)
    chunked = knn_vote(q, bank, labels, 5, k=10, temperature=0.1, query_chunk=7,
                       bank_chunk=33)
    torch.testing.assert_close(full, chunked)
    torch.testing.assert_close(full.sum(1), torch.ones(70))
    # Reference: softmax over the 10 largest cosine similarities.
    sim = F.normalize(q, dim=1) @ F.normalize(bank, dim=1).T
    v, i = sim.topk(10, dim=1)
    ref = torch.zeros(70, 5).scatter_add_(1, labels[i], (v / 0.1).softmax(1))
    torch.testing.assert_close(full, ref)


def positional_code(boxes, flips, L, omega):
    """(N, 4, L, L) features of the absolute image position of each patch centre.

    [cos wx, sin wx, cos wy, sin wy]: the cosine of two codes is
    (cos w dx + cos w dy) / 2, a sum of terms that fall strictly with |dx| and |dy|
    while w |d| < pi, so the nearest view-2 patch is the one whose centre is nearest
    on each axis, i.e. the cell containing the view-1 centre.
    """
    x, y, w, h = [boxes[:, i].double()[:, None] for i in range(4)]
    cols = torch.arange(L).double()[None]
    cols = torch.where(flips[:, None], L - 1 - cols, cols)
    cx = x + (cols + 0.5) * w / L  # (N, L) per column
    cy = y + (torch.arange(L).double()[None] + 0.5) * h / L  # (N, L) per row
    cx, cy = cx[:, None, :].expand(-1, L, -1), cy[:, :, None].expand(-1, -1, L)
    return torch.stack([(omega * cx).cos(), (omega * cx).sin(), (omega * cy).cos(),
                        (omega * cy).sin()], 1)


def test_cross_view_consistency_geometry():
    L = 14
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(1, 8, L, L, generator=gen)
    same = torch.tensor([[[0, 0, 224, 224], [0, 0, 224, 224]]])
    res = cross_view_consistency(f, f.clone(), same, torch.tensor([[False, False]]), 224)
    assert res['top1'] == 1.0 and res['num_anchors'] == L * L
    assert res['chance_top1'] == pytest.approx(1 / (L * L))
    # View 2 flipped: its token (r, c) shows view-1 token (r, L-1-c).
    res = cross_view_consistency(f, f.flip(-1), same, torch.tensor([[False, True]]), 224)
    assert res['top1'] == 1.0
    res = cross_view_consistency(f, f, same, torch.tensor([[False, True]]), 224)
    assert res['top1'] == 0.0  # unflipped features point at the mirror image's patch
    # View 2 shifted by half a patch: columns 1..13 of view 1 lie inside view 2, each
    # overlaps two view-2 patches equally, and both count as matches.
    half = torch.tensor([[[0, 0, 224, 224], [8, 0, 224, 224]]])
    res = cross_view_consistency(f, f, half, torch.tensor([[False, False]]), 224)
    assert res['num_anchors'] == 13 * L and res['chance_top1'] == pytest.approx(2 / (L * L))
    assert res['top1'] == 1.0  # the identical token is one of the two matches


def test_cross_view_consistency_on_real_crops(data):
    _, _, val = data
    pairs = ProbeViewPairs([i for i, _ in val], 224, seed=0)
    items = [pairs[i] for i in range(len(pairs))]
    assert torch.equal(pairs[3]['boxes'], items[3]['boxes'])  # seeded per image
    boxes = torch.stack([it['boxes'] for it in items])
    flips = torch.stack([it['flips'] for it in items])
    assert flips.any() and not flips.all()  # both cases occur in this sample
    omega = 0.9 * math.pi / float(boxes[..., :2].add(boxes[..., 2:]).max())
    f1 = positional_code(boxes[:, 0], flips[:, 0], 14, omega)
    f2 = positional_code(boxes[:, 1], flips[:, 1], 14, omega)
    res = cross_view_consistency(f1, f2, boxes, flips, 224)
    assert res['top1'] == 1.0 and res['top5'] == 1.0 and res['num_anchors'] > 8 * 20
    gen = torch.Generator().manual_seed(0)
    r1, r2 = torch.randn(8, 32, 14, 14, generator=gen), torch.randn(8, 32, 14, 14,
                                                                     generator=gen)
    res = cross_view_consistency(r1, r2, boxes, flips, 224)
    # Random features: the nearest patch is a uniform draw among 196, a hit with
    # probability chance_top1 (~1/196 times the 1-4 tied matches). Over the anchors
    # (> 160) the expected count of hits is a few; 10x chance would be > 6 sigma.
    assert res['chance_top1'] < 0.03
    assert res['top1'] < 10 * res['chance_top1'] and res['top5'] < 10 * 5 * res['chance_top1']


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """An mgc_mm-layout checkpoint of the tiny MGC model; momentum backbone != online."""
    from mmpretrain.registry import MODELS
    cfg = Config(dict(model=tiny_mgc_cfg(), default_scope='mmpretrain',
                      custom_imports=dict(imports=['mgc_mm'], allow_failed_imports=False)))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.state_dict()
    for key in state:
        if key.startswith('momentum_encoder.module.backbone.') and state[key].is_floating_point():
            state[key] = state[key] + torch.rand_like(state[key])
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(meta=dict(cfg=cfg.pretty_text), state_dict=state), path)
    return str(path), state, cfg


@pytest.mark.parametrize('branch, prefix', [('online', 'backbone.'),
                                            ('momentum', 'momentum_encoder.module.backbone.')])
def test_backbone_branch_loads_exact_tensors(tiny_checkpoint, branch, prefix):
    path, state, _ = tiny_checkpoint
    backbone, info = build_backbone(path, branch=branch)
    got = backbone.state_dict()
    expected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    assert set(got) == set(expected) and info['num_tensors'] == len(expected)
    for k, v in expected.items():
        assert torch.equal(got[k], v), k
    assert not backbone.training and backbone.out_type == 'featmap'
    assert backbone(torch.zeros(1, 3, 224, 224))[-1].shape == (1, 64, 14, 14)


@pytest.mark.parametrize('alias', ['encoder_k.module.0.', 'momentum_encoder.module.0.'])
def test_momentum_branch_of_mmpretrain_layouts(tiny_checkpoint, tmp_path, alias):
    """MoCo v2 / DenseCL (``encoder_k``) and MoCo v3 keep the momentum backbone as item 0
    of an EMA'd Sequential: ``--branch momentum`` finds it, tensor for tensor."""
    path, state, cfg = tiny_checkpoint
    prefix = 'momentum_encoder.module.backbone.'
    moved = {(alias + k[len(prefix):] if k.startswith(prefix) else k): v
             for k, v in state.items()}
    other = tmp_path / 'mmpretrain_layout.pth'
    torch.save(dict(meta=dict(cfg=cfg.pretty_text), state_dict=moved), other)
    backbone, info = build_backbone(str(other), branch='momentum')
    assert info['prefix'] == alias
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, state[prefix + k]), k


def test_backbone_loading_is_strict(tiny_checkpoint, tmp_path):
    path, state, cfg = tiny_checkpoint
    broken = dict(state)
    del broken['backbone.layers.1.ln1.weight']
    broken['backbone.extra.weight'] = torch.zeros(1)
    bad = tmp_path / 'bad.pth'
    torch.save(dict(meta=dict(cfg=cfg.pretty_text), state_dict=broken), bad)
    with pytest.raises(RuntimeError, match=r"missing keys \['layers\.1\.ln1\.weight'\], "
                       r"unexpected keys \['extra\.weight'\]"):
        build_backbone(str(bad))
    build_backbone(str(bad), branch='momentum')  # the other branch is intact
    # No stored config: it must be given.
    bare = tmp_path / 'bare.pth'
    torch.save(dict(state_dict=state), bare)
    with pytest.raises(KeyError, match='--config'):
        build_backbone(str(bare))
    cfg_file = tmp_path / 'cfg.py'
    cfg.dump(str(cfg_file))
    build_backbone(str(bare), config=str(cfg_file))


def test_random_init_baseline_is_seeded(tiny_checkpoint):
    path, state, _ = tiny_checkpoint
    a, info = build_backbone(path, random_init=True, seed=1)
    b, _ = build_backbone(path, random_init=True, seed=1)
    c, _ = build_backbone(path, random_init=True, seed=2)
    key = 'layers.0.attn.qkv.weight'
    assert torch.equal(a.state_dict()[key], b.state_dict()[key])
    assert not torch.equal(a.state_dict()[key], c.state_dict()[key])
    assert not torch.equal(a.state_dict()[key], state['backbone.' + key])
    assert info['branch'] is None and info['num_tensors'] == 0


def run_tool(*args):
    res = subprocess.run([sys.executable, TOOL, *map(str, args)], cwd='/', capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    return res.stdout


@pytest.mark.slow
def test_tool_end_to_end_checkpoint_vs_random_init(tiny_mgc_checkpoint, tmp_path):
    common = ['--data-root', osp.join(REPO, 'demo', 'data', 'coco'), '--reduce-zero-label',
              '--input-size', '224', '--workers', '0', '--linear-epochs', '5']
    figures = {}
    for name, extra in (('trained', []), ('random', ['--random-init'])):
        out = tmp_path / f'{name}.json'
        text = run_tool(tiny_mgc_checkpoint, *common, *extra, '--out', out)
        for row in ('linear-probe mIoU (%)', 'retrieval mIoU (%) (k=30, T=0.02)',
                    'cross-view top-1 / top-5 (%)', 'train images / labeled patches',
                    'val images / patches'):
            assert row in text, text
        with open(out) as f:
            figures[name] = json.load(f)
    for fig in figures.values():
        assert (fig['num_train_images'], fig['num_val_images']) == (24, 8)
        assert fig['num_val_patches'] == 8 * 196 and 0 < fig['num_train_patches'] <= 24 * 196
        for key in ('linear_mIoU', 'retrieval_mIoU', 'cross_view_top1', 'cross_view_top5'):
            assert 0 <= fig[key] <= 1, key
        assert fig['cross_view_top1'] <= fig['cross_view_top5']
    assert figures['trained']['branch'] == 'online' and figures['random']['random_init']
    # Different weights, different features: the figures are those of each backbone.
    assert figures['trained']['retrieval_mIoU'] != figures['random']['retrieval_mIoU']


def test_recalibrate_batchnorm_gives_the_data_statistics():
    from mgc_mm.evaluation import recalibrate_batchnorm

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, bias=False)
    net = torch.nn.Sequential(conv, torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.Conv2d(4, 2, 1), torch.nn.BatchNorm2d(2)).eval()
    batches = [torch.randn(3, 3, 8, 8) * 2 + 1 for _ in range(4)]
    ref = net[0](torch.cat(batches)).double()
    count = recalibrate_batchnorm(net, iter(batches))
    assert count == 2 and not net.training
    bn = net[1]
    assert bn.momentum == 0.1  # restored
    # Cumulative average over equal batches = the mean of all the data; the running
    # variance is the average of the per-batch unbiased variances (PyTorch's rule),
    # recomputed here in float64 (float32 sums of 144 values: 1e-5 relative is ample).
    torch.testing.assert_close(bn.running_mean.double(), ref.mean((0, 2, 3)),
                               rtol=1e-5, atol=1e-5)
    per_batch = [net[0](b).double().transpose(0, 1).flatten(1).var(1) for b in batches]
    torch.testing.assert_close(bn.running_var.double(), torch.stack(per_batch).mean(0),
                               rtol=1e-5, atol=1e-5)
    assert int(bn.num_batches_tracked) == 4
    # A backbone without BatchNorm is left alone.
    lin = torch.nn.Sequential(torch.nn.Linear(2, 2))
    assert recalibrate_batchnorm(lin, iter([torch.randn(2, 2)])) == 0


def test_photometric_view_pairs_keep_the_crops_and_are_seeded(data):
    import random
    pairs, _, val = data
    paths = [p[0] for p in val[:3]]
    plain = ProbeViewPairs(paths, 224, seed=3)
    photo = ProbeViewPairs(paths, 224, seed=3, photometric=True)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    for i in range(len(paths)):
        a, b, again = plain[i], photo[i], photo[i]
        # The boxes are drawn before the view pipelines: same geometry, other pixels.
        assert torch.equal(a['boxes'], b['boxes']) and torch.equal(a['flips'], b['flips'])
        assert not torch.equal(a['view1'], b['view1']) or not torch.equal(a['view2'],
                                                                         b['view2'])
        for key in ('view1', 'view2', 'boxes'):
            assert torch.equal(b[key], again[key])  # seeded by (seed, index) alone
    # ... and the global generators are left as they were.
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state
