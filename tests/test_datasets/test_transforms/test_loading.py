import logging
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from mgc_mm.datasets.transforms import LoadImageFromFileSafe, loading
from tests.conftest import DEMO_IMAGES

REAL = osp.join(DEMO_IMAGES, '000000000009.jpg')


def load(path):
    return LoadImageFromFileSafe()(dict(img_path=str(path)))


def test_real_jpeg_matches_cv2():
    out = load(REAL)
    ref = cv2.imread(REAL, cv2.IMREAD_COLOR)
    assert out['img'].dtype == np.uint8 and np.array_equal(out['img'], ref)
    assert out['ori_shape'] == ref.shape[:2]


def test_unusual_modes_are_converted(tmp_path):
    rgb = cv2.cvtColor(cv2.imread(REAL), cv2.COLOR_BGR2RGB)[:64, :80]
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    Image.fromarray(gray).save(tmp_path / 'gray.png')
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])).save(tmp_path / 'rgba.png')
    Image.fromarray(rgb).convert('CMYK').save(tmp_path / 'cmyk.jpg', quality=95)
    cv2.imwrite(str(tmp_path / 'deep.png'), (gray.astype(np.uint16) * 257))
    for name in ('gray.png', 'rgba.png', 'cmyk.jpg', 'deep.png'):
        img = load(tmp_path / name)['img']
        assert img.shape == (64, 80, 3) and img.dtype == np.uint8, name
    # 16-bit is scaled, not clipped: 257 * v maps back to v.
    assert np.array_equal(load(tmp_path / 'deep.png')['img'][..., 0], gray)
    assert np.array_equal(load(tmp_path / 'gray.png')['img'][..., 1], gray)
    assert np.array_equal(load(tmp_path / 'rgba.png')['img'][..., ::-1], rgb)
    cmyk = load(tmp_path / 'cmyk.jpg')['img'][..., ::-1].astype(int)
    assert np.abs(cmyk - rgb).mean() < 12  # lossy JPEG of CMYK, but the same picture


@pytest.mark.parametrize('make', ['truncated', 'garbage', 'empty', 'missing'])
def test_unreadable_files_are_logged_and_skipped(tmp_path, make, monkeypatch):
    path = tmp_path / f'{make}.jpg'
    data = open(REAL, 'rb').read()
    if make == 'truncated':
        path.write_bytes(data[:len(data) // 2])
    elif make == 'garbage':
        path.write_bytes(b'not an image at all' * 10)
    elif make == 'empty':
        path.write_bytes(b'')
    logged = []
    monkeypatch.setattr(loading, 'print_log', lambda msg, **kw: logged.append((msg, kw)))
    assert load(path) is None
    assert len(logged) == 1 and str(path) in logged[0][0]
    assert logged[0][1]['level'] == logging.WARNING


def test_png_and_uppercase_copy(tmp_path):
    shutil.copy(REAL, tmp_path / 'A.JPG')
    assert load(tmp_path / 'A.JPG')['img'].shape[2] == 3


@pytest.mark.parametrize('trailer', [
    b'\x00' * 3 + b'SEFH' + bytes(range(256)) * 4,  # a vendor block, over 64 bytes
    b'MotionPhoto_Data' + b'\x12\x34' * 500,         # an appended video stub
    b'\xff\xd8' + b'\x00' * 100,                     # the start of a second image
])
def test_jpeg_with_trailing_data_is_kept(tmp_path, trailer, monkeypatch):
    data = open(REAL, 'rb').read()
    path = tmp_path / 'trailer.jpg'
    path.write_bytes(data + trailer)
    logged = []
    monkeypatch.setattr(loading, 'print_log', lambda msg, **kw: logged.append(msg))
    out = load(path)
    assert logged == [] and out is not None
    assert np.array_equal(out['img'], cv2.imread(REAL, cv2.IMREAD_COLOR))


@pytest.mark.parametrize('keep', [0.5, 0.98, 0.9999])
def test_truncated_jpeg_is_refused_by_the_decoder(keep):
    data = open(REAL, 'rb').read()
    cut = data[:int(len(data) * keep)]
    assert cut[-2:] != b'\xff\xd9'
    with pytest.raises(ValueError, match='truncated'):
        loading.decode_image(cut)
    # ... also when it ends in bytes that look like padding.
    with pytest.raises(ValueError, match='truncated'):
        loading.decode_image(cut + b'\x00' * 8)
