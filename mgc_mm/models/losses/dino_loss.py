import torch
import torch.nn.functional as F
from mmengine import dist
from torch import nn

from mgc_mm.registry import MODELS


@MODELS.register_module()
class DINOLoss(nn.Module):
    """Self-distillation cross-entropy with teacher centring and sharpening (DINO;
    Mugs GDS, spec §2–3).

    ``loss = mean_i −Σ_k q_ik log softmax(s_i / τ_s)_k`` with the teacher targets
    ``q = softmax((g_t − c) / τ_t)`` (:meth:`teacher_probs`). After the step's terms,
    :meth:`update_center` moves the centre ``c`` towards the mean teacher output of
    all ranks: ``c <- m c + (1 − m) Σ_ranks Σ_i g_i / N_all``. The loss is the local
    row mean (DDP averages it over ranks, equal to the global mean for equal local
    batches, as in DINO). The centre is a buffer: it is saved and resumed.

    Args:
        out_channels (int): prototypes (logit width).
        student_temp (float): τ_s. Defaults to 0.1.
        center_momentum (float): ``m``. Defaults to 0.9.
    """

    def __init__(self, out_channels: int, student_temp: float = 0.1,
                 center_momentum: float = 0.9) -> None:
        super().__init__()
        if not 0. <= center_momentum <= 1.:
            raise ValueError(f'center_momentum must be in [0, 1], got {center_momentum}')
        self.out_channels = out_channels
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.register_buffer('center', torch.zeros(1, out_channels))

    @torch.no_grad()
    def teacher_probs(self, teacher_logits: torch.Tensor, teacher_temp: float) -> torch.Tensor:
        """Centred, sharpened teacher distribution ``(N, K)`` in fp32, no gradient."""
        return F.softmax((teacher_logits.float() - self.center) / teacher_temp, dim=-1)

    def forward(self, student_logits: torch.Tensor, teacher_probs: torch.Tensor) -> torch.Tensor:
        """
        Args:
            student_logits (Tensor): ``(N, K)`` (with gradient).
            teacher_probs (Tensor): ``(N, K)`` targets from :meth:`teacher_probs`.
        """
        if student_logits.shape != teacher_probs.shape:
            raise ValueError(f'student {tuple(student_logits.shape)} and teacher '
                             f'{tuple(teacher_probs.shape)} shapes differ')
        # fp32: at τ_s = 0.1 over 65,536 prototypes half precision underflows.
        logp = F.log_softmax(student_logits.float() / self.student_temp, dim=-1)
        return -(teacher_probs * logp).sum(-1).mean()

    @torch.no_grad()
    def update_center(self, teacher_logits: torch.Tensor) -> None:
        """EMA of the centre with the mean teacher logits of all ranks (collective)."""
        stats = torch.cat([teacher_logits.detach().float().sum(0),
                           teacher_logits.new_tensor([teacher_logits.shape[0]]).float()])
        if dist.get_world_size() > 1:
            dist.all_reduce(stats, op='sum')
        batch_center = stats[:-1] / stats[-1].clamp(min=1.)
        self.center.mul_(self.center_momentum).add_(
            batch_center[None], alpha=1. - self.center_momentum)
