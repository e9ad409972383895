import shutil

import pytest
from mmpretrain.registry import DATASETS

from tests.conftest import DEMO_IMAGES


def build(root, prefix='', **kw):
    return DATASETS.build(dict(type='UnlabeledImageFolder', data_root=str(root),
                               data_prefix=prefix, pipeline=[], **kw))


def test_recursive_any_extension_case_insensitive(tmp_path):
    (tmp_path / 'a' / 'b').mkdir(parents=True)
    src = f'{DEMO_IMAGES}/000000000009.jpg'
    shutil.copy(src, tmp_path / 'top.JPG')
    shutil.copy(src, tmp_path / 'a' / 'x.jpeg')
    shutil.copy(src, tmp_path / 'a' / 'b' / 'y.png')
    (tmp_path / 'a' / 'notes.txt').write_text('not an image')
    ds = build(tmp_path)
    paths = sorted(ds.get_data_info(i)['img_path'] for i in range(len(ds)))
    assert paths == sorted(str(tmp_path / p) for p in ('top.JPG', 'a/x.jpeg', 'a/b/y.png'))


def test_demo_folder_has_32_images():
    assert len(build(DEMO_IMAGES)) == 32


def test_missing_and_empty_folders_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        build(tmp_path / 'nowhere')
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'readme.txt').write_text('x')
    with pytest.raises(FileNotFoundError, match='empty'):
        build(tmp_path, 'empty')
