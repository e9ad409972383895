from typing import List

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import HOOKS
from torch import nn


@HOOKS.register_module()
class FreezeLastLayerHook(Hook):
    """Keeps a layer (Mugs / DINO: the GDS prototypes) fixed for the first epochs.

    DINO drops the last layer's gradients (``grad = None``) after the backward pass
    and before the optimizer step while ``epoch < freeze_epochs``, so that AdamW
    skips the layer entirely: no update, no weight decay, no optimizer state. mmengine
    runs backward and step inside ``OptimWrapper.update_params``, between which no
    runner hook is called; this hook therefore registers a step pre-hook on the
    optimizer (``torch.optim.Optimizer.register_step_pre_hook``), which runs after
    the backward pass, after DDP's gradient all-reduce and after mmengine's gradient
    clipping / AMP unscaling, just before the update. ``requires_grad`` toggling
    would break DDP (which fixes the set of parameters that receive gradients
    when it wraps the model).

    Stateless: whether the layer is frozen depends only on ``runner.epoch``, so a
    resumed run freezes exactly the epochs the uninterrupted one does. Works with
    and without a DDP wrapper (the layer is found on ``runner.model.module`` when
    wrapped).

    Args:
        freeze_epochs (int): epochs ``0 .. freeze_epochs - 1`` are frozen.
            Defaults to 1.
        module (str): dotted path of the layer in the (unwrapped) model.
            Defaults to 'gds_head.projector.last_layer'.
    """

    priority = 'NORMAL'

    def __init__(self, freeze_epochs: int = 1,
                 module: str = 'gds_head.projector.last_layer') -> None:
        if freeze_epochs < 0:
            raise ValueError(f'freeze_epochs must be >= 0, got {freeze_epochs}')
        self.freeze_epochs = freeze_epochs
        self.module = module
        self._handles: List = []

    def _layer(self, runner) -> nn.Module:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        try:
            return model.get_submodule(self.module)
        except AttributeError as e:
            raise AttributeError(f'{type(model).__name__} has no module `{self.module}`') from e

    def before_train(self, runner) -> None:
        params = list(self._layer(runner).parameters())
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]

        def drop_grads(optimizer, args, kwargs) -> None:
            if runner.epoch < self.freeze_epochs:
                for p in params:
                    p.grad = None

        self.remove()
        self._handles = [w.optimizer.register_step_pre_hook(drop_grads) for w in wrappers]

    def remove(self) -> None:
        """Unregister the optimizer pre-hooks."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def after_train(self, runner) -> None:
        self.remove()
