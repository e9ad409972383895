import torch
import torch.nn.functional as F
from mmengine import dist
from torch import nn

from mgc_mm.registry import MODELS
from .info_nce_loss import gather_rows, global_count


@MODELS.register_module()
class SupConLoss(nn.Module):
    """Supervised-contrastive loss between labelled queries and the labelled keys of
    every rank (Khosla et al. 2020, ``L_out``; DSC's pixel-category term).

    For query ``i`` with label ``y_i``, against the keys ``K_all`` of all ranks:
    ``ℓ_i = -1/|P(i)| Σ_{p∈P(i)} log softmax_j(q_i·k_j / τ)_p`` with
    ``P(i) = {p : y_p = y_i}``. Queries without a positive are left out. The mean runs
    over the *global* number of queries that have one, times the world size, so that
    DDP's averaging gives one process's value and gradients on the concatenated batch
    (as :class:`InfoNCELoss`). Keys are detached (momentum-branch pixels).

    Args:
        temperature (float): τ. Defaults to 0.2 (DSC spec).
        loss_weight (float): factor on the loss. Defaults to 1.
    """

    def __init__(self, temperature: float = 0.2, loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.loss_weight = float(loss_weight)

    def forward(self, query: torch.Tensor, query_labels: torch.Tensor, key: torch.Tensor,
                key_labels: torch.Tensor) -> torch.Tensor:
        """
        Args:
            query (Tensor): ``(M, D)`` local queries (with gradient).
            query_labels (Tensor): ``(M,)`` their labels.
            key (Tensor): ``(K, D)`` local keys, gathered here from every rank.
            key_labels (Tensor): ``(K,)`` their labels.
        """
        if query_labels.shape != (query.shape[0], ) or key_labels.shape != (key.shape[0], ):
            raise ValueError('one label per query and per key')
        # fp32 logits: at τ = 0.2 half precision loses the softmax tail.
        q = F.normalize(query.float(), dim=1)
        with torch.no_grad():
            # One collective for keys and labels (labels are exact in fp32 < 2^24).
            packed = torch.cat([F.normalize(key.detach().float(), dim=1),
                                key_labels.to(q.device).float()[:, None]], dim=1)
            packed = gather_rows(packed)[0]
            k_all, k_labels = packed[:, :-1], packed[:, -1].long()
        log_prob = F.log_softmax(q @ k_all.t() / self.temperature, dim=1)
        pos = (query_labels.to(q.device).long()[:, None] == k_labels[None]).to(log_prob.dtype)
        num_pos = pos.sum(1)
        has_pos = num_pos > 0
        per_query = -(log_prob * pos).sum(1) / num_pos.clamp(min=1)
        total = global_count(int(has_pos.sum()), q.device)
        return (per_query * has_pos).sum() * (
            self.loss_weight * dist.get_world_size() / max(total, 1))
