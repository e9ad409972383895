from typing import Callable, List

import torch


def multi_crop_average(term: Callable[[int, List[int]], torch.Tensor], num_teacher: int,
                       num_student_global: int, num_local: int,
                       include_same_view: bool = False) -> torch.Tensor:
    """Mugs' average of a loss over (teacher crop, student crop) pairs (spec §3).

    For each teacher crop ``t`` the student global crops ``s`` (``s != t`` unless
    ``include_same_view``) and all local crops are paired with it; the result is
    ``½ (mean of the global pair terms + mean of the local pair terms)``, or the
    one mean that exists when the other group has no pair (e.g. no local crops).

    Args:
        term: ``term(t, crops)`` -> the mean of the pair terms of teacher crop ``t``
            with the student crops ``crops`` (student-crop indices: globals first,
            then locals). Called once per teacher crop and group, so that a loss can
            batch the crops of a group together.
        num_teacher (int): teacher crops.
        num_student_global (int): student global crops; global ``s`` and teacher
            ``t`` are the same pair slot when ``s == t``.
        num_local (int): local crops (>= 0).
        include_same_view (bool): also pair student global ``t`` with teacher ``t``
            (the reference drops them, spec §5). Defaults to False.
    """
    groups = {'global': [], 'local': []}
    for t in range(num_teacher):
        crops = [s for s in range(num_student_global) if include_same_view or s != t]
        if crops:
            groups['global'].append((term(t, crops), len(crops)))
        if num_local:
            local = list(range(num_student_global, num_student_global + num_local))
            groups['local'].append((term(t, local), num_local))
    means = [sum(v * n for v, n in g) / sum(n for _, n in g) for g in groups.values() if g]
    if not means:
        raise ValueError('no (teacher, student) crop pair to average')
    return sum(means) / len(means)
