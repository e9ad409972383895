"""FeatureQueue: spec §6 pointer and neighbour checks, wrap-around, masks."""
import pytest
import torch

from mgc_mm.models.utils import FeatureQueue


def rows(n, dim=3, start=0):
    return torch.arange(start, start + n * dim, dtype=torch.float32).view(n, dim) + 1


def test_spec_pointer_sequence_advances_by_n():
    # spec §6: K = 8 rows, 2 at a time -> 2, 4, 6, 0 (the reference's 2n step: 4, 0, 4)
    q = FeatureQueue(3, 8, normalize=False)
    ptrs = []
    for i in range(4):
        x = rows(2, start=10 * i)
        assert q.enqueue(x) == 2
        ptrs.append(int(q.ptr))
        assert torch.equal(q.queue[2 * i:2 * i + 2], x)  # no row skipped
    assert ptrs == [2, 4, 6, 0]


def test_init_rows_are_unit_norm():
    q = FeatureQueue(16, 64)
    # randn rows divided by their norm: |1 - norm| is a few float32 ulps
    torch.testing.assert_close(q.queue.norm(dim=1), torch.ones(64), rtol=0, atol=1e-6)


def test_wrap_around_and_overflow_keep_the_newest_rows():
    q = FeatureQueue(3, 8, normalize=False)
    q.enqueue(rows(6))
    x = rows(4, start=100)
    q.enqueue(x)  # rows 6, 7, 0, 1
    assert int(q.ptr) == 2
    assert torch.equal(q.queue[6:], x[:2]) and torch.equal(q.queue[:2], x[2:])
    assert torch.equal(q.queue[2:6], rows(6)[2:6])
    big = rows(11, start=1000)  # 11 rows into 8 from pointer 2: as 11 single writes
    q.enqueue(big)
    assert int(q.ptr) == (2 + 11) % 8
    expect = torch.empty(8, 3)
    for j in range(11):
        expect[(2 + j) % 8] = big[j]
    assert torch.equal(q.queue, expect)


def test_mask_writes_only_flagged_rows_and_normalize():
    q = FeatureQueue(3, 8, normalize=True)
    x = rows(5)
    mask = torch.tensor([True, False, True, False, False])
    assert q.enqueue(x, mask) == 2
    assert int(q.ptr) == 2
    torch.testing.assert_close(q.queue[:2], torch.nn.functional.normalize(x[mask], dim=1),
                               rtol=0, atol=0)
    assert q.enqueue(x, torch.zeros(5, dtype=torch.bool)) == 0 and int(q.ptr) == 2
    with pytest.raises(ValueError, match='mask'):
        q.enqueue(x, mask[:3])
    with pytest.raises(ValueError, match='width'):
        q.enqueue(rows(2, dim=4))


def test_clone_is_a_snapshot():
    q = FeatureQueue(3, 4, normalize=False)
    snap = q.clone()
    before = snap.clone()
    q.enqueue(rows(2))
    assert torch.equal(snap, before) and not torch.equal(q.queue, before)


def test_spec_neighbour_lookup():
    q = FeatureQueue(2, 4, normalize=False)
    q.enqueue(torch.tensor([[1., 0], [0, 1], [1, 1], [-1, 0]]))
    out = q.nearest(torch.tensor([[2., 1]]), 2)
    assert torch.equal(out, torch.tensor([[[1., 1], [1, 0]]]))
    with pytest.raises(ValueError, match='k must'):
        q.nearest(torch.tensor([[2., 1]]), 5)
