"""Mugs IDS / LGDS / GDS heads: pair-averaged losses against NumPy, queue snapshot
and enqueue order, memories."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mgc_mm.models.heads import MugsGroupHead, MugsInstanceHead, MugsLocalGroupHead


def np_info_nce(q, k, queue, tau):
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k = k / np.linalg.norm(k, axis=1, keepdims=True)
    logits = np.concatenate([(q * k).sum(1, keepdims=True), q @ queue.T], 1) / tau
    m = logits.max(1, keepdims=True)
    return (np.log(np.exp(logits - m).sum(1)) + m[:, 0] - logits[:, 0]).mean()


@pytest.mark.parametrize('same', [False, True])
def test_ids_loss_equals_numpy_pairs_and_enqueues_after(same):
    torch.manual_seed(0)
    head = MugsInstanceHead(8, hid_channels=12, out_channels=6, pred_hid_channels=10,
                            queue_len=16)
    b, num_local = 3, 2
    student = [F.normalize(torch.randn(b, 6), dim=1) for _ in range(2 + num_local)]
    teacher = [F.normalize(torch.randn(b, 6), dim=1) for _ in range(2)]
    queue0 = head.queue.queue.clone().double().numpy()
    value = head.loss(student, teacher, include_same_view=same)

    sn = [s.double().numpy() for s in student]
    tn = [t.double().numpy() for t in teacher]
    glob = [np_info_nce(sn[s], tn[t], queue0, 0.2) for t in range(2) for s in range(2)
            if same or s != t]
    loc = [np_info_nce(sn[s], tn[t], queue0, 0.2) for t in range(2) for s in range(2, 4)]
    ref = 0.5 * (np.mean(glob) + np.mean(loc))
    # float32 logits <= 5 in magnitude against float64: ~1e-7 relative
    assert value.item() == pytest.approx(ref, rel=1e-5)
    # both terms used the snapshot; afterwards crop 0's then crop 1's targets are queued
    assert int(head.queue.ptr) == 2 * b
    torch.testing.assert_close(head.queue.queue[:2 * b], torch.cat(teacher), rtol=0,
                               atol=1e-7)  # re-normalising unit rows: <= 1 ulp


def test_lgds_memories_take_weak_student_rows_only():
    torch.manual_seed(0)
    head = MugsLocalGroupHead(8, num_heads=2, feedforward_channels=16, num_neighbours=2,
                              memory_len=12, hid_channels=12, out_channels=6,
                              pred_hid_channels=10, queue_len=16)
    assert head.student_memory.normalize is False  # features as given, not unit rows
    t = [torch.randn(3, 8) for _ in range(2)]
    s = [torch.randn(3, 8) for _ in range(2)]
    weak = [torch.tensor([True, False, True]), torch.tensor([False, False, True])]
    head.update_memories(t, s, weak)
    assert int(head.teacher_memory.ptr) == 6 and int(head.student_memory.ptr) == 3
    assert torch.equal(head.teacher_memory.queue[:6], torch.cat(t))
    assert torch.equal(head.student_memory.queue[:3],
                       torch.cat([s[0][weak[0]], s[1][weak[1]]]))
    nb = head.neighbours(t[0], teacher=True)
    assert nb.shape == (3, 2, 8) and torch.equal(nb[:, 0], t[0])  # each row's nearest is itself
    with pytest.raises(ValueError, match='weak'):
        head.update_memories(t, s, weak[:1])


def test_gds_loss_averages_pairs_and_updates_center():
    torch.manual_seed(0)
    head = MugsGroupHead(8, hid_channels=12, bottleneck_channels=4, out_channels=10,
                         teacher_temp=0.05)
    b = 4
    student = [torch.randn(b, 10) for _ in range(3)]  # 2 globals, 1 local
    teacher = [torch.randn(b, 10) for _ in range(2)]
    value = head.loss(student, teacher)
    crit = head.loss_module

    def term(t, s):
        q = F.softmax(teacher[t] / 0.05, dim=1)  # centre 0 before the update
        return -(q * F.log_softmax(student[s] / 0.1, dim=1)).sum(1).mean()
    ref = 0.5 * ((term(0, 1) + term(1, 0)) / 2 + (term(0, 2) + term(1, 2)) / 2)
    # same float32 ops in another grouping: a few ulps
    assert value.item() == pytest.approx(ref.item(), rel=1e-6)
    torch.testing.assert_close(crit.center, 0.1 * torch.cat(teacher).mean(0, keepdim=True),
                               rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match='out_channels'):
        MugsGroupHead(8, out_channels=10, loss=dict(type='DINOLoss', out_channels=9))
