from typing import Sequence

import torch
from torch import nn

from mgc_mm.registry import MODELS
from ..necks.relation_projector import RelationProjector
from ..utils.queue import FeatureQueue
from .mugs_instance_head import MugsInstanceHead


@MODELS.register_module()
class MugsLocalGroupHead(MugsInstanceHead):
    """Mugs local-group discrimination (LGDS, spec §2–3).

    Same predictor, queue and loss as :class:`MugsInstanceHead` (its own instances);
    the projector is a :class:`RelationProjector` over the query token and its
    ``num_neighbours`` nearest entries (cosine) of a memory of image features. Two
    memories: the student's, filled with the student global crops flagged weakly
    augmented only, and the teacher's, filled with all teacher crops
    (:meth:`update_memories`). The memories start as unit-norm noise (spec §5): the
    neighbours carry no information until ``memory_len`` rows have been written,
    i.e. for the first ``memory_len / (2 · global batch)`` steps (teacher memory;
    about twice that for the student memory, which takes about half the crops).

    Args:
        in_channels (int): backbone width (memory rows and relation block).
        num_heads (int): relation-block heads.
        feedforward_channels (int): relation-block FFN width.
        num_neighbours (int): memory entries per query. Defaults to 8.
        memory_len (int): rows per memory. Defaults to 65536.
        relation_drop_path_rate (float): relation-block drop path. Defaults to 0.
        **kwargs: :class:`MugsInstanceHead` arguments (widths, queue, loss).
    """

    def __init__(self,
                 in_channels: int,
                 num_heads: int,
                 feedforward_channels: int,
                 num_neighbours: int = 8,
                 memory_len: int = 65536,
                 relation_drop_path_rate: float = 0.,
                 **kwargs) -> None:
        self._relation_cfg = dict(num_heads=num_heads, feedforward_channels=feedforward_channels,
                                  drop_path_rate=relation_drop_path_rate)
        super().__init__(in_channels, **kwargs)
        if not 1 <= num_neighbours <= memory_len:
            raise ValueError(f'num_neighbours must be in [1, {memory_len}], got '
                             f'{num_neighbours}')
        self.num_neighbours = num_neighbours
        self.student_memory = FeatureQueue(in_channels, memory_len, normalize=False)
        self.teacher_memory = FeatureQueue(in_channels, memory_len, normalize=False)

    def build_projector(self, in_channels: int, hid_channels: int, out_channels: int,
                        num_layers: int) -> nn.Module:
        return RelationProjector(in_channels, hid_channels=hid_channels,
                                 out_channels=out_channels, num_layers=num_layers,
                                 mlp_norm_cfg=self.mlp_norm_cfg, **self._relation_cfg)

    def neighbours(self, query: torch.Tensor, teacher: bool) -> torch.Tensor:
        """``(N, k, D)`` nearest entries of the teacher's or the student's memory."""
        memory = self.teacher_memory if teacher else self.student_memory
        return memory.nearest(query, self.num_neighbours)

    @torch.no_grad()
    def update_memories(self, teacher_feats: Sequence[torch.Tensor],
                        student_feats: Sequence[torch.Tensor],
                        student_weak: Sequence[torch.Tensor]) -> None:
        """Enqueue, crop by crop, every teacher crop's features and the student
        global crops' features of the weakly augmented samples.

        Args:
            teacher_feats (list[Tensor]): per teacher crop ``(B, D)``.
            student_feats (list[Tensor]): per student global crop ``(B, D)``.
            student_weak (list[Tensor]): per student global crop, ``(B,)`` bool.
        """
        if len(student_feats) != len(student_weak):
            raise ValueError(f'{len(student_feats)} student crops but {len(student_weak)} '
                             'weak-flag vectors')
        for feats in teacher_feats:
            self.teacher_memory.enqueue(feats)
        for feats, weak in zip(student_feats, student_weak):
            self.student_memory.enqueue(feats, weak)
