from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class InitCheckpointHook(Hook):
    """Save the model as it starts training: ``init.pth`` in the work dir.

    The learning check compares a pretrained backbone with *the same* backbone at
    random init. A re-drawn init (``dense_probe.py --random-init``) is another draw:
    the cross-view consistency of ViT-S/16 inits varies by ~1.7 points top-1 over
    seeds (README), as much as a short run moves it. ``init.pth`` holds the exact
    weights the run started from (after ``init_weights`` and any ``--pretrained``
    load, before the first step), with the config in its meta, so every evaluation
    tool reads it like a trained checkpoint: ``dense_probe.py W/init.pth``.

    Weights only (no optimizer or scheduler state). Written once, by rank 0 and
    atomically (mgc_mm's checkpoint backend); a resumed run (``runner.iter > 0``)
    keeps the file of its first start. ``tools/train.py --save-init`` adds the hook.
    """

    priority = 'VERY_LOW'  # after the hooks that load or change weights before training

    def __init__(self, filename: str = 'init.pth') -> None:
        self.filename = filename

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            return
        runner.save_checkpoint(runner.work_dir, self.filename, save_optimizer=False,
                               save_param_scheduler=False)
        runner.logger.info(f'saved the initial weights to {runner.work_dir}/{self.filename}')
