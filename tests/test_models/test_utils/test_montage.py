"""Montages of MCL (specs/mcl.md §2, §7)."""
import pytest
import torch
import torch.nn.functional as F

from mgc_mm.models.utils import build_montages, downsample_views, montage_counts, split_tiles

RAMP = (16 * torch.arange(16).view(16, 1) + torch.arange(16)).float().view(1, 1, 16, 16)


@pytest.mark.parametrize('r, corner', [(2, [[0, 2], [32, 34]]), (4, [[0, 4], [64, 68]]),
                                       (8, [[0, 8], [128, 136]])])
def test_nearest_downsampling_of_the_ramp(r, corner):
    small = downsample_views(RAMP, r)
    assert small.shape == (1, 1, 16 // r, 16 // r)
    assert small[0, 0, :2, :2].tolist() == corner
    # pixel (y, x) of the small image is pixel (r y, r x) of the view, everywhere
    ys, xs = torch.meshgrid(torch.arange(16 // r), torch.arange(16 // r), indexing='ij')
    assert torch.equal(small[0, 0], 16. * r * ys + r * xs)
    # the same pixels as torch's nearest interpolation
    assert torch.equal(small, F.interpolate(RAMP, scale_factor=1 / r, mode='nearest'))


def test_area_mode_and_errors():
    assert downsample_views(RAMP, 2, mode='area')[0, 0, 0, 0].item() == (0 + 1 + 16 + 17) / 4
    assert downsample_views(RAMP, 1) is RAMP
    with pytest.raises(ValueError, match='divisible'):
        downsample_views(RAMP, 3)
    with pytest.raises(ValueError, match='mode'):
        downsample_views(RAMP, 2, mode='bilinear')


def images(n, size=32, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('r, m, n', [(2, 3, 4), (4, 2, 8), (8, 1, 5)])
def test_cell_t_is_the_downsampled_source_image_row_major(r, m, n):
    x = images(n, size=8 * r)
    mont, labels = build_montages(x, r, m, generator=torch.Generator().manual_seed(1))
    assert mont.shape == (m, 3, 8 * r, 8 * r) and labels.shape == (m * r * r, )
    assert labels.dtype == torch.int64 and 0 <= labels.min() and labels.max() < n
    small = downsample_views(x, r)
    s = 8  # cell side
    for b in range(m):
        for t in range(r * r):
            row, col = divmod(t, r)
            cell = mont[b, :, row * s:(row + 1) * s, col * s:(col + 1) * s]
            assert torch.equal(cell, small[labels[b * r * r + t]])
    # split_tiles cuts them back out in the same order
    assert torch.equal(split_tiles(mont, r), small[labels])


@pytest.mark.parametrize('r, m, n', [(2, 32, 128), (4, 8, 128), (8, 4, 128), (4, 1, 8)])
def test_each_image_appears_r2_m_over_n_times(r, m, n):
    _, labels = build_montages(images(n, size=8 * r), r, m)
    assert torch.equal(torch.bincount(labels, minlength=n),
                       torch.full((n, ), r * r * m // n))


def test_montage_cell_sits_on_tile_t_of_its_fpn_level():
    """Level i of grid r = 2^i reads P(5 - i), stride 32 / r: a 224 montage gives a
    7r x 7r map and cell t (112, 56, 28 px) is exactly 7 x 7 tile t of it (row-major).
    The map stands in for a feature map as the stride-s average pool of the montage."""
    for i, r in enumerate((2, 4, 8), start=1):
        x = images(3, size=224, seed=i)
        mont, labels = build_montages(x, r, 2)
        stride = 32 // r
        fmap = F.avg_pool2d(mont, stride)
        assert fmap.shape[-1] == 7 * r
        tiles = split_tiles(fmap, r)
        assert tiles.shape == (2 * r * r, 3, 7, 7)
        expected = F.avg_pool2d(downsample_views(x, r)[labels], stride)
        assert torch.equal(tiles, expected)


def test_permutation_follows_the_generator():
    x = images(8)
    a = build_montages(x, 2, 4, generator=torch.Generator().manual_seed(3))
    b = build_montages(x, 2, 4, generator=torch.Generator().manual_seed(3))
    c = build_montages(x, 2, 4, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a[1], b[1]) and torch.equal(a[0], b[0])
    assert not torch.equal(a[1], c[1])


def test_montage_counts():
    assert montage_counts(128, (1, 2, 4, 8), (1, 1, 1, 2)) == [128, 32, 8, 4]
    assert montage_counts(8, (1, 2, 4, 8), (1, 1, 1, 2)) == [8, 2, 1, 1]
    assert montage_counts(2, (1, 2, 4, 8), (1, 1, 1, 2)) == [2, 1, 1, 1]
    with pytest.raises(ValueError):
        montage_counts(8, (1, 2), (1, ))
