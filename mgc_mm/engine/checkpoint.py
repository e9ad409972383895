"""Safe checkpoint I/O for mmengine on current torch.

* Atomic writes: mmengine writes checkpoints with ``open(path, 'wb')``, so a run killed
  mid-write leaves a truncated file where a good one was. :class:`AtomicLocalBackend`
  (registered as mmengine's ``local`` storage backend) writes to a temporary file in
  the same folder, syncs it and renames it over the target in one step.
* Loading: mmengine 0.10 calls ``torch.load`` without ``weights_only``; torch >= 2.6
  defaults to ``weights_only=True`` and then refuses mmengine's own checkpoints
  (message-hub state, numpy scalars) on ``--resume`` and ``load_from``. The local
  loader is re-registered to pass ``weights_only=False``, which is what torch < 2.6
  did: only load checkpoints you trust, as with any pickle.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as _fileio
from mmengine.runner import CheckpointLoader

# Temporary files are ``.{name}.{random}.tmp`` next to the target (same file system, so
# the final rename is atomic); :class:`SafeCheckpointHook` removes leftovers at start.
TMP_SUFFIX = '.tmp'


def atomic_write(data: Union[bytes, str], filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``filepath`` so that readers see the old or the new file,
    never a partial one.

    Raises:
        OSError: with the target path and the cause (``[Errno 27] File too large``,
            ``[Errno 28] No space left on device``...); the old file, if any, is
            untouched and the temporary file is removed.
    """
    filepath = osp.abspath(os.fspath(filepath))
    folder = osp.dirname(filepath)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode(encoding)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix=TMP_SUFFIX,
                               dir=folder)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException as e:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError):  # write() errors do not name the file
            raise OSError(e.errno, f'cannot write {filepath}: {e.strerror or e}') from e
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local storage backend with atomic ``put`` / ``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write(obj, filepath, encoding=encoding)


def load_from_local(filename: str, map_location=None):
    """Local checkpoint loader that works with torch >= 2.6 (see module docstring)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=False)
    except Exception as e:  # name the file: torch's own message does not
        raise RuntimeError(f'cannot read checkpoint {filename}: {e}') from e


def register_checkpoint_io() -> None:
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # Drop cached plain local backends created before this registration.
    for key, backend in list(_fileio.backend_instances.items()):
        if type(backend) is LocalBackend:
            del _fileio.backend_instances[key]
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)


register_checkpoint_io()
