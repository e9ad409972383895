"""What a work dir holds: which checkpoint to resume from, and whether a new run may
write there (``tools/train.py --resume`` / ``--overwrite``)."""
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

from mmengine.logging import print_log

# Names mmengine's CheckpointHook gives (``filename_tmpl`` defaults).
CHECKPOINT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


class NothingToResumeError(RuntimeError):
    """``--resume`` found no complete checkpoint to continue from."""


class WorkDirInUseError(RuntimeError):
    """A new run would write over another run's checkpoints."""


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole checkpoint file written by ``torch.save``.

    torch's zip format keeps its directory at the very end of the file, so a file cut
    short (a copy that stopped, a save killed without the atomic backend) has none:
    reading the directory tells a complete file from a partial one without loading
    gigabytes of tensors.
    """
    if not osp.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return any(name.endswith('data.pkl') for name in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def list_checkpoints(folder: str) -> List[Tuple[int, float, str]]:
    """``(step, mtime, path)`` of the ``epoch_N.pth`` / ``iter_N.pth`` files of a folder,
    oldest first."""
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        m = CHECKPOINT_NAME.match(name)
        if m:
            path = osp.join(folder, name)
            found.append((int(m.group(2)), osp.getmtime(path), path))
    return sorted(found)


def _read_last_checkpoint(work_dir: str) -> Optional[str]:
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        return f.read().strip() or None


def find_resume_checkpoint(work_dir: str, folders: Tuple[str, ...] = ()) -> str:
    """The newest complete checkpoint of a work dir, saying which and why.

    ``last_checkpoint`` is used when it names a complete file and no complete
    checkpoint of a later step exists; otherwise (missing, stale, or naming a deleted
    or partial file) the newest complete ``epoch_N`` / ``iter_N`` file of
    ``work_dir`` and ``folders`` (e.g. a checkpoint hook's ``out_dir``) is taken.
    Partial files are reported and left in place.

    Raises:
        NothingToResumeError: no complete checkpoint at all.
    """
    candidates = []
    for folder in dict.fromkeys((work_dir, *folders)):
        candidates += list_checkpoints(folder)
    complete, partial = [], []
    for step, mtime, path in candidates:
        (complete if is_complete_checkpoint(path) else partial).append((step, mtime, path))
    for _, _, path in partial:
        print_log(f'--resume: {path} is incomplete (cut short) and is not used',
                  logger='current', level=30)
    complete.sort()
    named = _read_last_checkpoint(work_dir)
    if named is not None and is_complete_checkpoint(named):
        step = next((s for s, _, p in complete if osp.samefile(p, named)), None)
        newer = [p for s, _, p in complete if step is None or s > step]
        if not newer:
            print_log(f'--resume: resuming from {named} (named by last_checkpoint)',
                      logger='current')
            return named
    if not complete:
        what = ', '.join(osp.basename(p) for _, _, p in partial) or 'no epoch_*.pth / iter_*.pth'
        raise NothingToResumeError(
            f'--resume: nothing to resume in {work_dir}: no complete checkpoint ({what}). '
            'Run without --resume to start a new run, or pass --resume CKPT.')
    path = complete[-1][2]
    why = ('it names no file' if named is None else
           f'it names {named}, which is missing or incomplete'
           if not is_complete_checkpoint(named) else f'{named} is older')
    print_log(f'--resume: resuming from {path}, the newest complete checkpoint of the work '
              f'dir (last_checkpoint not used: {why})', logger='current', level=30)
    return path


def check_new_run(work_dir: str, folders: Tuple[str, ...] = ()) -> None:
    """Refuse a new run in a work dir that holds another run's checkpoints.

    Raises:
        WorkDirInUseError: naming the files, and the flags that go on.
    """
    found = []
    for folder in dict.fromkeys((work_dir, *folders)):
        found += [p for _, _, p in list_checkpoints(folder)]
    if found:
        names = ', '.join(osp.basename(p) for p in sorted(found)[:5])
        more = f' and {len(found) - 5} more' if len(found) > 5 else ''
        raise WorkDirInUseError(
            f'work dir {work_dir} already holds checkpoints of another run ({names}{more}). '
            'Pass --resume to continue that run, --overwrite to start a new run there '
            '(its checkpoints replace the old ones as it saves), or --work-dir elsewhere.')
