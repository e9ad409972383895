"""The CPU half (header read, no decode) and the device decode of the device pixel
pipeline, against the CPU path's decoder (``decode_image``)."""
import glob
import logging
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mgc_mm.datasets.transforms import (LoadImageFromFileSafe, decode_image, decode_images_on,
                                        loading, read_image_header)
from tests.conftest import DEMO_IMAGES

REAL = osp.join(DEMO_IMAGES, '000000000009.jpg')


def corrupt_huffman_table(data: bytes) -> bytes:
    """A JPEG whose header parses but whose Huffman table no decoder accepts."""
    out = bytearray(data)
    dht = out.find(b'\xff\xc4')
    out[dht + 5:dht + 21] = b'\xff' * 16  # code counts far beyond 256 codes
    return bytes(out)


@pytest.fixture(scope='module')
def odd_files(tmp_path_factory) -> dict:
    """Every kind of file the CPU path converts, plus the 8 EXIF orientations."""
    d = tmp_path_factory.mktemp('odd')
    rgb = cv2.cvtColor(cv2.imread(REAL), cv2.COLOR_BGR2RGB)[:64, :80]
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    Image.fromarray(gray).save(d / 'gray.png')
    Image.fromarray(gray).save(d / 'gray.jpg')
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])).save(d / 'rgba.png')
    Image.fromarray(rgb).convert('CMYK').save(d / 'cmyk.jpg', quality=95)
    cv2.imwrite(str(d / 'deep.png'), gray.astype(np.uint16) * 257)
    Image.fromarray(rgb).save(d / 'rgb.webp')
    Image.fromarray(rgb).save(d / 'rgb.bmp')  # not a torchvision format
    for o in range(1, 9):
        img = Image.fromarray(rgb)
        exif = img.getexif()
        exif[0x0112] = o
        img.save(d / f'orient{o}.jpg', exif=exif, quality=90)
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_real_jpegs_decode_exactly_as_the_cpu_path():
    # Both are libjpeg-turbo's ISLOW IDCT with fancy upsampling, whose SIMD versions are
    # bit-exact with its C code: equal on any x86 CPU.
    blobs = [open(f, 'rb').read() for f in sorted(glob.glob(osp.join(DEMO_IMAGES, '*.jpg')))]
    heads = [read_image_header(b) for b in blobs]
    out = decode_images_on(blobs, [h[2] for h in heads], 'cpu')
    for blob, head, img in zip(blobs, heads, out):
        ref = decode_image(blob)
        assert head[:2] == ref.shape[:2]
        assert np.array_equal(img.permute(1, 2, 0).numpy(), ref)


def test_every_mode_and_orientation_matches_the_cpu_path(odd_files):
    names = list(odd_files)
    heads = [read_image_header(odd_files[n]) for n in names]
    out = decode_images_on([odd_files[n] for n in names], [h[2] for h in heads], 'cpu')
    for name, head, img in zip(names, heads, out):
        ref = decode_image(odd_files[name])
        assert not isinstance(img, Exception), (name, img)
        assert head[:2] == ref.shape[:2] == tuple(img.shape[1:]), name
        diff = np.abs(img.permute(1, 2, 0).numpy().astype(int) - ref.astype(int)).max()
        # CMYK -> RGB: libjpeg-turbo's and OpenCV's own integer conversions round apart.
        assert diff <= (1 if name == 'cmyk.jpg' else 0), (name, diff)
    # Orientations 5-8 swap the sides, and the header says so without decoding.
    assert [h[:2] for h in heads if h[2] >= 5] == [(80, 64)] * 4
    assert sorted({h[2] for h in heads}) == list(range(1, 9))


def test_bad_bytes_fail_alone_and_the_header_check_catches_cut_files():
    real = open(REAL, 'rb').read()
    bad = corrupt_huffman_table(real)
    assert read_image_header(bad)[:2] == (480, 640)  # the header is fine...
    out = decode_images_on([real, bad, b'\xff\xd8not a jpeg', real], [1] * 4, 'cpu')
    assert isinstance(out[1], Exception) and isinstance(out[2], Exception)  # ...the data not
    assert np.array_equal(out[0].numpy(), out[3].numpy())
    assert np.array_equal(out[0].permute(1, 2, 0).numpy(), decode_image(real))
    with pytest.raises(ValueError, match='truncated'):
        read_image_header(real[:5000])
    with pytest.raises(ValueError, match='not a readable image'):
        read_image_header(b'just some text')


def test_loader_without_decode_keeps_bytes_and_header_only(tmp_path, monkeypatch):
    out = LoadImageFromFileSafe(decode=False)(dict(img_path=REAL))
    assert 'img' not in out and out['ori_shape'] == out['img_shape'] == (480, 640)
    assert out['img_bytes'].tobytes() == open(REAL, 'rb').read()
    assert out['img_bytes'].flags.writeable and out['exif_orientation'] == 1
    (tmp_path / 'cut.jpg').write_bytes(open(REAL, 'rb').read()[:4000])
    (tmp_path / 'text.jpg').write_bytes(b'hello')
    logged = []
    monkeypatch.setattr(loading, 'print_log', lambda msg, **kw: logged.append((msg, kw)))
    for name in ('cut.jpg', 'text.jpg'):
        assert LoadImageFromFileSafe(decode=False)(dict(img_path=str(tmp_path / name))) is None
        assert str(tmp_path / name) in logged[-1][0]
        assert logged[-1][1]['level'] == logging.WARNING
    assert len(logged) == 2
    with pytest.raises(ValueError, match='to_float32 needs decode'):
        LoadImageFromFileSafe(to_float32=True, decode=False)
