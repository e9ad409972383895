import math
import random
from fractions import Fraction

import pytest
import torch

from mgc_mm.models.utils import GRAIN_DEFAULTS, grain_correspondences


def reference_pairs(b1, b2, f1, f2, grain, view_size=224):
    """Slow, obviously-correct spec §2 in exact fractions, one sample."""
    c = GRAIN_DEFAULTS[grain]
    L = view_size // grain
    x1, y1, w1, h1 = b1
    x2, y2, w2, h2 = b2
    X0, X1 = max(x1, x2), min(x1 + w1, x2 + w2)
    Y0, Y1 = max(y1, y2), min(y1 + h1, y2 + h2)
    if X1 <= X0 or Y1 <= Y0:
        return []
    inter = (X1 - X0) * (Y1 - Y0)
    u = Fraction(inter, w1 * h1 + w2 * h2 - inter)
    a_r, a_c = c['stride_factors']
    s_r = min(max(math.floor(u * a_r), c['row_clamp'][0]), c['row_clamp'][1])
    s_c = min(max(math.floor(u * a_c), c['col_clamp'][0]), c['col_clamp'][1])
    top, bottom = Fraction((Y0 - y1) * view_size, h1), Fraction((Y1 - y1) * view_size, h1)
    left, right = Fraction((X0 - x1) * view_size, w1), Fraction((X1 - x1) * view_size, w1)
    rows = range(math.floor(top / grain), math.ceil(bottom / grain), s_r)
    cols = range(math.floor(left / grain), math.ceil(right / grain), s_c)

    def cell(x, y, w, h, r, col):
        return (x + Fraction(col * w, L), y + Fraction(r * h, L),
                x + Fraction((col + 1) * w, L), y + Fraction((r + 1) * h, L))

    def token(r, col, flipped):
        return r * L + (L - 1 - col if flipped else col)

    cands = []
    gen = 0
    for r in rows:
        for col in cols:
            a = cell(x1, y1, w1, h1, r, col)
            for r2 in range(L):
                for c2 in range(L):
                    b = cell(x2, y2, w2, h2, r2, c2)
                    iw = min(a[2], b[2]) - max(a[0], b[0])
                    ih = min(a[3], b[3]) - max(a[1], b[1])
                    if iw > 0 and ih > 0:
                        area_a = (a[2] - a[0]) * (a[3] - a[1])
                        area_b = (b[2] - b[0]) * (b[3] - b[1])
                        wgt = iw * ih / (area_a + area_b)
                        cands.append((-wgt, gen, token(r, col, f1), token(r2, c2, f2), wgt))
                    gen += 1
    cands.sort(key=lambda t: (t[0], t[1]))
    return [(i1, i2, w) for _, _, i1, i2, w in cands[:c['num_pairs']]]


def run(b1, b2, f1=False, f2=False, grain=16):
    out = grain_correspondences(
        torch.tensor([b1]), torch.tensor([b2]), torch.tensor([f1]), torch.tensor([f2]), grain)
    n = int(out.valid[0].sum())
    assert out.valid[0, :n].all() and not out.valid[0, n:].any(), 'valid slots first'
    return [(int(a), int(b), float(w)) for a, b, w in
            zip(out.idx1[0, :n], out.idx2[0, :n], out.weight[0, :n])], out


def test_hand_case_a_identical_boxes():
    box = (0, 0, 224, 224)
    pairs, out = run(box, box, grain=16)
    assert [(a, b) for a, b, _ in pairs] == [(0, 0), (6, 6), (12, 12), (112, 112), (118, 118), (124, 124)]
    assert all(w == 0.5 for _, _, w in pairs)
    assert out.idx1.shape == (1, 10) and int(out.valid.sum()) == 6
    assert out.weight[0, 6:].eq(0).all() and out.idx1[0, 6:].eq(0).all()
    pairs, _ = run(box, box, grain=32)
    assert [(a, b) for a, b, _ in pairs] == [(0, 0), (3, 3), (6, 6), (28, 28), (31, 31), (34, 34)]
    pairs, out = run(box, box, grain=112)
    assert [(a, b, w) for a, b, w in pairs] == [(0, 0, 0.5), (1, 1, 0.5)]
    assert out.valid.all()


def test_hand_case_b_view1_flipped():
    box = (0, 0, 224, 224)
    pairs, _ = run(box, box, f1=True, grain=16)
    assert [(a, b) for a, b, _ in pairs] == [(13, 0), (7, 6), (1, 12), (125, 112), (119, 118), (113, 124)]


def test_exact_stride_at_one_third():
    # u = 1/3 exactly: floor(12 / 3) = 4 rows (float32 rounding gives 3).
    b1, b2 = (0, 0, 200, 100), (100, 0, 200, 100)
    assert Fraction(100 * 100, 200 * 100 * 2 - 100 * 100) == Fraction(1, 3)
    pairs, _ = run(b1, b2, grain=16)
    ref = reference_pairs(b1, b2, False, False, 16)
    assert [(a, b) for a, b, _ in pairs] == [(a, b) for a, b, _ in ref]
    rows = sorted({a // 14 for a, _, _ in pairs})
    assert rows[1] - rows[0] == 4


def random_box(rng, W, H, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)):
    for _ in range(10):
        area = W * H * rng.uniform(*scale)
        ar = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = int(round(math.sqrt(area * ar))), int(round(math.sqrt(area / ar)))
        if 0 < w <= W and 0 < h <= H:
            return (rng.randint(0, W - w), rng.randint(0, H - h), w, h)
    return (0, 0, W, H)


def random_batch(seed, n):
    rng = random.Random(seed)
    b1s, b2s, f1s, f2s = [], [], [], []
    for i in range(n):
        W, H = rng.randint(100, 700), rng.randint(100, 700)
        b1 = random_box(rng, W, H)
        b2 = random_box(rng, W, H)
        if i % 7 == 0:  # tiny, huge and disjoint boxes too
            b2 = (rng.randint(0, 50), rng.randint(0, 50), rng.randint(1, 40), rng.randint(1, 40))
        b1s.append(b1)
        b2s.append(b2)
        f1s.append(rng.random() < 0.5)
        f2s.append(rng.random() < 0.5)
    return (torch.tensor(b1s), torch.tensor(b2s), torch.tensor(f1s), torch.tensor(f2s))


@pytest.mark.parametrize('grain', [16, 32, 112])
def test_matches_exact_reference_on_random_boxes(grain):
    b1, b2, f1, f2 = random_batch(seed=grain, n=40)
    out = grain_correspondences(b1, b2, f1, f2, grain)
    K = GRAIN_DEFAULTS[grain]['num_pairs']
    assert out.idx1.shape == out.idx2.shape == out.weight.shape == out.valid.shape == (40, K)
    assert out.idx1.dtype == torch.long and out.valid.dtype == torch.bool
    for i in range(40):
        ref = reference_pairs(tuple(b1[i].tolist()), tuple(b2[i].tolist()), bool(f1[i]),
                              bool(f2[i]), grain)
        n = int(out.valid[i].sum())
        assert n == len(ref)
        assert out.valid[i, :n].all()
        got = [(int(a), int(b)) for a, b in zip(out.idx1[i, :n], out.idx2[i, :n])]
        assert got == [(a, b) for a, b, _ in ref], f'sample {i}'
        for j, (_, _, w) in enumerate(ref):
            assert out.weight[i, j].item() == pytest.approx(float(w), rel=1e-6)
            assert 0 < w <= Fraction(1, 2)


def test_selected_pairs_overlap_in_original_image_and_flips_map_columns():
    b1, b2, f1, f2 = random_batch(seed=3, n=30)
    L = 14
    plain = grain_correspondences(b1, b2, torch.zeros_like(f1), torch.zeros_like(f2), 16)
    out = grain_correspondences(b1, b2, f1, f2, 16)
    assert torch.equal(plain.valid, out.valid) and torch.equal(plain.weight, out.weight)
    for i in range(30):
        for j in range(int(out.valid[i].sum())):
            r1, c1 = divmod(int(plain.idx1[i, j]), L)
            r2, c2 = divmod(int(plain.idx2[i, j]), L)
            # Flips only mirror the column of the token index.
            exp1 = r1 * L + (L - 1 - c1 if f1[i] else c1)
            exp2 = r2 * L + (L - 1 - c2 if f2[i] else c2)
            assert (int(out.idx1[i, j]), int(out.idx2[i, j])) == (exp1, exp2)
            x1, y1, w1, h1 = b1[i].tolist()
            x2, y2, w2, h2 = b2[i].tolist()
            ax0, ax1 = x1 + Fraction(c1 * w1, L), x1 + Fraction((c1 + 1) * w1, L)
            bx0, bx1 = x2 + Fraction(c2 * w2, L), x2 + Fraction((c2 + 1) * w2, L)
            ay0, ay1 = y1 + Fraction(r1 * h1, L), y1 + Fraction((r1 + 1) * h1, L)
            by0, by1 = y2 + Fraction(r2 * h2, L), y2 + Fraction((r2 + 1) * h2, L)
            assert min(ax1, bx1) > max(ax0, bx0) and min(ay1, by1) > max(ay0, by0)


def test_ties_resolved_by_generation_order():
    # Same box for both views: every anchor's twin ties at w = 0.5; g112 keeps the
    # first two anchors in row-major order, whatever the flips.
    box = torch.tensor([[10, 20, 300, 300]])
    for f1 in (False, True):
        out = grain_correspondences(box, box, torch.tensor([f1]), torch.tensor([False]), 112)
        expected = [(1, 0), (0, 1)] if f1 else [(0, 0), (1, 1)]
        assert list(zip(out.idx1[0].tolist(), out.idx2[0].tolist())) == expected


@pytest.mark.parametrize('grain', [16, 32, 112])
def test_batch_equals_per_sample(grain):
    b1, b2, f1, f2 = random_batch(seed=10 + grain, n=25)
    batch = grain_correspondences(b1, b2, f1, f2, grain)
    for i in range(25):
        one = grain_correspondences(b1[i:i + 1], b2[i:i + 1], f1[i:i + 1], f2[i:i + 1], grain)
        for a, b in zip(batch, one):
            assert torch.equal(a[i:i + 1], b)


def test_disjoint_boxes_give_no_valid_pair():
    out = grain_correspondences(torch.tensor([[0, 0, 50, 50]]), torch.tensor([[60, 60, 50, 50]]),
                                torch.tensor([False]), torch.tensor([True]), 16)
    assert not out.valid.any() and out.weight.eq(0).all() and out.idx1.eq(0).all()


def test_float_boxes_and_overrides():
    b = torch.tensor([[0., 0., 224., 224.]])
    f = torch.tensor([False])
    out = grain_correspondences(b, b, f, f, 16, num_pairs=3)
    assert out.idx1.shape == (1, 3) and out.idx1[0].tolist() == [0, 6, 12]
    with pytest.raises(ValueError, match='integer'):
        grain_correspondences(b + 0.5, b, f, f, 16)
    with pytest.raises(ValueError, match='multiple'):
        grain_correspondences(b, b, f, f, 24)
    with pytest.raises(ValueError, match='default constants'):
        grain_correspondences(b, b, f, f, 56)
    out = grain_correspondences(b, b, f, f, 56, num_pairs=4, stride_factors=(1, 1),
                                row_clamp=(1, 1), col_clamp=(1, 1))
    assert out.idx1[0].tolist() == [0, 1, 2, 3] and out.valid.all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_equals_cpu():
    b1, b2, f1, f2 = random_batch(seed=99, n=64)
    for g in (16, 32, 112):
        cpu = grain_correspondences(b1, b2, f1, f2, g)
        gpu = grain_correspondences(b1.cuda(), b2.cuda(), f1.cuda(), f2.cuda(), g)
        for a, b in zip(cpu, gpu):
            assert torch.equal(a, b.cpu())
