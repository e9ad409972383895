"""Real faults for the checkpoint tests, injected into a child training process.

``FaultDuringSaveHook`` acts at the save of a given step, after the checkpoint dict is
built and before the file is written (mmengine's ``before_save_checkpoint``):

* ``kill``: the process SIGKILLs itself while the temporary file is being written,
  half of the bytes on disk: what a node failure or an OOM kill does;
* ``fsize``: ``RLIMIT_FSIZE`` is lowered below the checkpoint's size, so the write
  fails with ``EFBIG`` (SIGXFSZ ignored, as a shell's ``ulimit -f`` with a handler
  would): what a full disk or a quota does.
"""
import os
import resource
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

import mgc_mm.engine.checkpoint as ckpt_io


@HOOKS.register_module()
class FaultDuringSaveHook(Hook):
    priority = 'VERY_LOW'

    def __init__(self, fault: str = 'kill', at_epoch: int = 2) -> None:
        if fault not in ('kill', 'fsize'):
            raise ValueError(f'unknown fault {fault!r}')
        self.fault, self.at_epoch = fault, at_epoch

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if checkpoint['meta']['epoch'] != self.at_epoch:
            return
        if self.fault == 'fsize':
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            limit = 64 * 1024  # far below a checkpoint, above the logs' next lines
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
            return
        real_fdopen = ckpt_io.os.fdopen

        class _DyingFile:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self.f.__exit__(*exc)

            def write(self, data):
                self.f.write(data[:len(data) // 2])
                self.f.flush()
                os.kill(os.getpid(), signal.SIGKILL)

            def __getattr__(self, name):
                return getattr(self.f, name)

        ckpt_io.os.fdopen = lambda *a, **k: _DyingFile(real_fdopen(*a, **k))
