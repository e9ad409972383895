import os

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner import CheckpointLoader, save_checkpoint

from mgc_mm.engine import AtomicLocalBackend, checkpoint as ckpt_mod


def test_local_backend_is_atomic(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')), AtomicLocalBackend)
    target = tmp_path / 'epoch_1.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(target))
    good = target.read_bytes()
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())

    class Boom(Exception):
        pass

    real_fsync = os.fsync

    def failing_fsync(fd):  # dies after the new bytes were written, before the rename
        raise Boom()

    ckpt_mod.os.fsync = failing_fsync
    try:
        with pytest.raises(Boom):
            save_checkpoint({'state_dict': {'w': torch.zeros(1000)}}, str(target))
    finally:
        ckpt_mod.os.fsync = real_fsync
    assert target.read_bytes() == good  # the old checkpoint survives
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']  # no temp left


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_loader_reads_mmengine_checkpoints_on_current_torch(tmp_path):
    import numpy as np
    from mmengine.logging import HistoryBuffer
    path = tmp_path / 'ckpt.pth'
    # What a Runner checkpoint holds besides tensors: numpy values, history buffers.
    torch.save({'meta': {'seed': np.int64(3)}, 'message_hub': {'b': HistoryBuffer([1.0], [1])},
                'state_dict': {'w': torch.ones(2)}}, path)
    with pytest.raises(Exception):
        torch.load(path)  # torch >= 2.6 default: weights_only=True refuses it
    out = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(out['state_dict']['w'], torch.ones(2)) and out['meta']['seed'] == 3
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'nope.pth'))
