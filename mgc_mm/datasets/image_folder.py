import os.path as osp
from typing import Sequence

from mmpretrain.datasets import CustomDataset

from mgc_mm.registry import DATASETS


@DATASETS.register_module()
class UnlabeledImageFolder(CustomDataset):
    """All images below a folder, recursively, without labels.

    The layout of COCO ``train2017/``, VOC ``JPEGImages/``, ADE20K
    ``images/training/`` or an ImageNet ``train/`` tree all work unchanged. A missing
    or empty folder stops at start with an error naming the folder.

    Args:
        data_root (str): root folder. Defaults to ''.
        data_prefix (str | dict): image folder relative to ``data_root``.
        extensions (sequence[str]): accepted file endings (case-insensitive).
            Defaults to ('.jpg', '.jpeg', '.png').
        **kwargs: other arguments of mmpretrain's ``CustomDataset``
            (``pipeline``, ``indices``, ``lazy_init``...).
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix='',
                 extensions: Sequence[str] = ('.jpg', '.jpeg', '.png'),
                 **kwargs) -> None:
        if 'with_label' in kwargs or 'ann_file' in kwargs:
            raise TypeError('UnlabeledImageFolder takes no `with_label` / `ann_file`; '
                            'use mmpretrain.CustomDataset for labelled data')
        super().__init__(data_root=data_root, data_prefix=data_prefix, with_label=False,
                         extensions=extensions, **kwargs)

    def load_data_list(self):
        folder = self.img_prefix
        if not osp.isdir(folder):
            raise FileNotFoundError(f'image folder {folder!r} does not exist (set by '
                                    '`data_root` / `data_prefix` of the dataset config)')
        try:
            return super().load_data_list()
        except RuntimeError as e:  # mmpretrain's 'Found 0 files' -> name the folder
            raise FileNotFoundError(
                f'no image with extension {sorted(self.extensions)} under {folder!r}') from e

    def __getitem__(self, idx: int) -> dict:
        """Sample ``idx``; an unreadable file is replaced by another random one.

        mmengine's loop does the same but ends, when nothing is readable, with
        ``Cannot find valid image after 1000!``. This one says how many files were
        tried and names them, and stops as soon as every file has failed once.
        """
        if self.test_mode:
            return super().__getitem__(idx)
        if not self._fully_initialized:
            self.full_init()
        failed: dict = {}
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            failed[self.get_data_info(idx)['img_path']] = None
            if len(failed) == len(self):
                break
            idx = self._rand_another()
        names = list(failed)
        shown = ', '.join(names[:3]) + (f' and {len(names) - 3} more' if len(names) > 3 else '')
        raise RuntimeError(
            f'no readable image: {len(names)} of the {len(self)} files under '
            f'{self.img_prefix!r} were tried and none could be read or processed ({shown}); '
            'the log names the cause for each file')
