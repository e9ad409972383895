from typing import Dict, Optional

from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn


class BackboneEvalHook(Hook):
    """Base of the hooks that evaluate the frozen backbone being pretrained
    (:class:`DenseProbeHook`, :class:`KNNMonitorHook`) every ``interval`` epochs.

    What they share: the schedule (every ``interval`` epochs, or iterations with
    ``by_epoch=False``, and after the last one; optionally before training), the
    backbone (online ``model.backbone`` or, with ``branch='momentum'``,
    ``model.momentum_encoder.module.backbone`` of the model unwrapped from its DDP
    wrapper), the broadcast of rank 0's figures to every rank, and the logging: each
    logged figure goes to the message hub as a scalar ``<prefix>/<name>``, to the
    visualizer's backends at ``step = runner.iter``, and to the log as one line.

    Subclasses set ``prefix``, ``title`` and ``logged`` and implement
    :meth:`evaluate` (all ranks call it; it returns the figures on rank 0).

    Args:
        interval (int): evaluate every ``interval`` epochs (iterations with
            ``by_epoch=False``), and after the last one. Defaults to 1.
        by_epoch (bool): count ``interval`` in epochs. Defaults to True.
        branch (str): ``'online'`` or ``'momentum'``. Defaults to 'online'.
        before_train (bool): also evaluate the initial weights (logged at step 0).
    """

    priority = 'LOW'  # after the optimizer / EMA updates of the epoch
    prefix = ''  # message-hub scalars: f'{prefix}/{name}'
    title = ''  # what the log line and the messages call the evaluation
    logged = ()  # which figures are logged

    def __init__(self, interval: int = 1, by_epoch: bool = True, branch: str = 'online',
                 before_train: bool = False) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if branch not in ('online', 'momentum'):
            raise ValueError(f"branch must be 'online' or 'momentum', got {branch!r}")
        self.interval = interval
        self.by_epoch = by_epoch
        self.branch = branch
        self.eval_before_train = before_train

    def evaluate(self, backbone: nn.Module) -> Optional[Dict[str, float]]:
        """The figures of ``backbone`` on rank 0 (``None`` elsewhere)."""
        raise NotImplementedError

    def describe(self, figures: Dict[str, float]) -> str:
        """What the log line says besides the branch and the time, e.g. counts."""
        return ''

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and (self.every_n_epochs(runner, self.interval)
                              or self.is_last_train_epoch(runner)):
            self._probe(runner, f'epoch {runner.epoch + 1}')  # epoch is 0-based here

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.by_epoch and (self.every_n_train_iters(runner, self.interval)
                                  or self.is_last_train_iter(runner)):
            self._probe(runner, f'iter {runner.iter + 1}')

    def backbone(self, runner) -> nn.Module:
        """The evaluated backbone of the (unwrapped) model."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if self.branch == 'momentum':
            ema = getattr(model, 'momentum_encoder', None)
            if ema is None or not hasattr(ema.module, 'backbone'):
                raise AttributeError(f"branch='momentum': {type(model).__name__} has no "
                                     'momentum_encoder.module.backbone')
            return ema.module.backbone
        return model.backbone

    def _probe(self, runner, when: str) -> Dict[str, float]:
        """Evaluate, share rank 0's figures with every rank, and log them."""
        figures = self.evaluate(self.backbone(runner))
        if dist.get_world_size() > 1:
            box = [figures]
            dist.broadcast_object_list(box, src=0)
            figures = box[0]
        scalars = {f'{self.prefix}/{k}': float(figures[k]) for k in self.logged
                   if k in figures}
        for key, value in scalars.items():
            runner.message_hub.update_scalar(key, value)
        runner.visualizer.add_scalars(scalars, step=runner.iter)
        text = ', '.join(f'{k.split("/", 1)[1]}: {v:.4f}' for k, v in scalars.items())
        extra = self.describe(figures)
        runner.logger.info(f'{self.title} ({self.branch} backbone, {when}'
                           f'{", " + extra if extra else ""}): {text}')
        return figures
