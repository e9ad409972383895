from mmengine.hooks import Hook
from mmengine.registry import HOOKS

# Scheduler attributes that fix its length; its position (last_step...) is resumed.
_LENGTH_KEYS = ('begin', 'end', 'T_max')


@HOOKS.register_module()
class ResumeGuardHook(Hook):
    """What ``--resume`` must not get wrong silently.

    * A checkpoint saved without optimizer or scheduler state
      (``CheckpointHook(save_optimizer=False)``) is refused: mmengine would resume it
      with a fresh optimizer and restarted schedules, i.e. wrong learning rates. Such
      files are for fine-tuning (``--pretrained``).
    * Schedulers keep the lengths of the config, not of the checkpoint. mmengine
      restores every scheduler attribute, its length included, so resuming an
      800-epoch run with ``train_cfg.max_epochs=1600`` would still anneal over 800.
      ``begin`` / ``end`` / ``T_max`` of the saved states are rewritten to the
      config's (in the scheduler's own unit) before the runner loads them; the
      position in the schedule (``last_step``) is resumed as is.

    ``tools/train.py`` adds it to every config.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return
        missing = [k for k, wanted in (('optimizer', True),
                                       ('param_schedulers', runner.param_schedulers))
                   if wanted and k not in checkpoint]
        if missing:
            raise RuntimeError(
                f'cannot resume from {runner._load_from}: it holds no {" / ".join(missing)} '
                'state (saved with save_optimizer=False or save_param_scheduler=False); '
                'resuming would restart the optimizer and the schedules. Use it to '
                'fine-tune (--pretrained) or resume from a full checkpoint.')
        saved = checkpoint.get('param_schedulers')
        # By now the runner has built its schedulers from the config (lengths already
        # converted to iterations where the config asks for it).
        built = runner.param_schedulers
        if not isinstance(saved, list) or not isinstance(built, list):
            return
        for i, (sched, state) in enumerate(zip(built, saved)):
            if isinstance(sched, dict) or not isinstance(state, dict):
                return
            for key in _LENGTH_KEYS:
                if key in state and hasattr(sched, key) and state[key] != getattr(sched, key):
                    runner.logger.info(f'param_scheduler.{i} {key}: {state[key]} in the '
                                       f'checkpoint -> {getattr(sched, key)} from the config')
                    state[key] = getattr(sched, key)
