from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def teacher_temperature(epoch: int, warmup_temp: float, temp: float,
                        warmup_epochs: int) -> float:
    """DINO's schedule: ``warmup_epochs`` values evenly spaced from ``warmup_temp`` to
    ``temp`` (both included, ``numpy.linspace``), one per epoch, then ``temp``."""
    if epoch >= warmup_epochs:
        return float(temp)
    if warmup_epochs == 1:
        return float(warmup_temp)
    return float(warmup_temp + (temp - warmup_temp) * epoch / (warmup_epochs - 1))


@HOOKS.register_module()
class MugsTeacherTempHook(Hook):
    """Teacher-temperature warm-up of a DINO-style head (Mugs GDS, spec §2).

    Before each epoch, sets ``teacher_temp`` of the head ``head`` of the model
    (unwrapped under DDP) to :func:`teacher_temperature` of the epoch. Stateless:
    the value depends on ``runner.epoch`` only, so a resumed run gets the same
    temperatures as an uninterrupted one.

    Args:
        warmup_temp (float): first epoch's temperature. Defaults to 0.04.
        temp (float): temperature after the warm-up. Defaults to 0.07.
        warmup_epochs (int): epochs of linear warm-up (>= 0). Defaults to 30.
        head (str): attribute of the model holding ``teacher_temp``.
            Defaults to 'gds_head'.
    """

    priority = 'NORMAL'

    def __init__(self, warmup_temp: float = 0.04, temp: float = 0.07, warmup_epochs: int = 30,
                 head: str = 'gds_head') -> None:
        if warmup_epochs < 0:
            raise ValueError(f'warmup_epochs must be >= 0, got {warmup_epochs}')
        if min(warmup_temp, temp) <= 0:
            raise ValueError('temperatures must be > 0')
        self.warmup_temp = warmup_temp
        self.temp = temp
        self.warmup_epochs = warmup_epochs
        self.head = head

    def _head(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, self.head, None)
        if head is None or not hasattr(head, 'teacher_temp'):
            raise AttributeError(f'{type(model).__name__} has no `{self.head}` with a '
                                 '`teacher_temp`')
        return head

    def before_train_epoch(self, runner) -> None:
        self._head(runner).teacher_temp = teacher_temperature(
            runner.epoch, self.warmup_temp, self.temp, self.warmup_epochs)
