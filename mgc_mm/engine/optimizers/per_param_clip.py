from typing import List

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mgc_mm.registry import OPTIM_WRAPPERS


class PerParamClipMixin:
    """Clip the gradient norm of *each parameter tensor* to ``max_norm``.

    mmengine's ``clip_grad=dict(max_norm=...)`` clips the global norm of all
    gradients together; DINO / MGC-style recipes instead rescale every tensor whose
    own norm exceeds the bound (``g <- g · min(1, max_norm / (‖g‖ + 1e-6))``).
    Configure it as ``clip_grad=dict(max_norm=3.0)`` (optionally ``norm_type``).
    The logged ``grad_norm`` is the global norm before clipping, as in mmengine.
    """

    eps = 1e-6

    def _clip_grad(self) -> None:
        grads: List[torch.Tensor] = [
            p.grad for group in self.optimizer.param_groups for p in group['params']
            if p.requires_grad and p.grad is not None
        ]
        if not grads:
            return
        kwargs = self.clip_grad_kwargs
        unknown = set(kwargs) - {'max_norm', 'norm_type'}
        if 'max_norm' not in kwargs or unknown:
            raise ValueError('per-parameter clip_grad takes max_norm (and norm_type), '
                             f'got {sorted(kwargs)}')
        max_norm = float(kwargs['max_norm'])
        norm_type = float(kwargs.get('norm_type', 2.0))
        norms = torch._foreach_norm(grads, norm_type)
        scales = [torch.clamp(max_norm / (n + self.eps), max=1.0) for n in norms]
        torch._foreach_mul_(grads, scales)
        total = torch.linalg.vector_norm(torch.stack(norms), norm_type)
        self.message_hub.update_scalar('train/grad_norm', float(total))


@OPTIM_WRAPPERS.register_module()
class PerParamClipOptimWrapper(PerParamClipMixin, OptimWrapper):
    """:class:`mmengine.optim.OptimWrapper` with per-tensor gradient clipping."""


@OPTIM_WRAPPERS.register_module()
class PerParamClipAmpOptimWrapper(PerParamClipMixin, AmpOptimWrapper):
    """:class:`mmengine.optim.AmpOptimWrapper` with per-tensor gradient clipping
    (applied after unscaling, as mmengine does for global clipping)."""
