import glob
import os
import os.path as osp
from collections import deque

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ..checkpoint import TMP_SUFFIX, atomic_write


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with a rotation that never loses the last checkpoint.

    mmengine removes the oldest kept checkpoint *before* it writes the new one, so a
    kill or a write error (disk full, file-size limit) during the save leaves no
    checkpoint at all and ``last_checkpoint`` naming a deleted file. Here, at every
    instant the newest complete checkpoint exists and ``last_checkpoint`` names it:

    1. the new checkpoint is written atomically (temporary file + rename, see
       :class:`mgc_mm.engine.AtomicLocalBackend`);
    2. only then ``last_checkpoint`` is replaced (atomically too);
    3. only then checkpoints beyond ``max_keep_ckpts`` are removed.

    Temporary files that a killed save left behind are removed (and logged) when
    training starts. A failed write raises with the path and the cause, and leaves the
    previous checkpoints and ``last_checkpoint`` untouched.

    Takes the arguments of mmengine's ``CheckpointHook``. ``tools/train.py`` puts this
    hook in place of every ``CheckpointHook``, so each config gets it.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process() and osp.isdir(str(self.out_dir)):
            # Only atomic_write's own temporaries of checkpoints and last_checkpoint
            # (``.{name}.{random}.tmp``): nothing else of the folder is touched.
            leftovers = [p for pattern in ('.*.pth.*', '.last_checkpoint.*')
                         for p in glob.glob(osp.join(str(self.out_dir), pattern + TMP_SUFFIX))]
            for tmp in sorted(leftovers):
                os.remove(tmp)
                runner.logger.warning(f'removed {tmp}, left by a save that did not finish')

    def _save_checkpoint_with_step(self, runner, step, meta):
        stale = []
        if self.max_keep_ckpts > 0:
            # Same bookkeeping as mmengine (the kept ids travel in the message hub and
            # so in the checkpoint), but the files are removed after the save.
            if not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
                ids = list(self.keep_ckpt_ids) + [step]
                stale, ids = ids[:-self.max_keep_ckpts], ids[-self.max_keep_ckpts:]
                self.keep_ckpt_ids = deque(ids, self.max_keep_ckpts)
                runner.message_hub.update_info('keep_ckpt_ids', list(ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write(str(self.last_ckpt), osp.join(runner.work_dir, 'last_checkpoint'))
        for old in stale:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if path == self.last_ckpt:
                continue
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed checkpoints are folders
                self.file_backend.rmtree(path)
