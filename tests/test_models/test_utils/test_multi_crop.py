import pytest
import torch

from mgc_mm.models.utils import multi_crop_average


def record(values):
    calls = []

    def term(t, crops):
        calls.append((t, tuple(crops)))
        return torch.tensor(float(sum(values[t][s] for s in crops) / len(crops)))
    return term, calls


def test_reference_pairs_and_halves():
    # values[t][s]: term of teacher crop t with student crop s (2 globals, 3 locals)
    vals = [[0., 1., 2., 3., 4.], [5., 6., 7., 8., 9.]]
    term, calls = record(vals)
    out = multi_crop_average(term, 2, 2, 3)
    assert calls == [(0, (1, )), (0, (2, 3, 4)), (1, (0, )), (1, (2, 3, 4))]
    glob = (1. + 5.) / 2
    loc = (2 + 3 + 4 + 7 + 8 + 9) / 6
    assert out.item() == pytest.approx((glob + loc) / 2)


def test_same_view_option_and_no_locals():
    vals = [[0., 1.], [5., 6.]]
    term, calls = record(vals)
    assert multi_crop_average(term, 2, 2, 0, include_same_view=True).item() == pytest.approx(3.)
    assert calls == [(0, (0, 1)), (1, (0, 1))]
    term, _ = record(vals)
    assert multi_crop_average(term, 2, 2, 0).item() == pytest.approx(3.)  # (1 + 5) / 2
    with pytest.raises(ValueError, match='no'):
        multi_crop_average(term, 1, 1, 0)
