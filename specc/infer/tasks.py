"""Which task a spec trains for (spec-tasks §1), as far as the spec alone says: its `train task=`,
else what its output reads as. No torch: `specc check --batch` counts the task's loss with it, and
specc.training.tasks settles the run's task with the same rule.
"""

from __future__ import annotations

from ..hyperparameters import TASKS


def class_scores(output: tuple | None) -> int | None:
    """K for an output of K class scores: a vector of K, or a 1x1xK map; else None."""
    if not output or any(d is None for d in output):
        return None
    if len(output) == 1:
        return output[0]
    if len(output) == 3 and tuple(output[:2]) == (1, 1):
        return output[2]
    return None


def segments(output: tuple | None, input_shape: tuple | None) -> bool:
    """An HxWxK map (K ≥ 2) of the input's H and W: a score per class and pixel."""
    return (output is not None and input_shape is not None and len(output) == 3 and len(input_shape) == 3
            and tuple(output[:2]) == tuple(input_shape[:2]) and (output[2] or 0) >= 2)


def read_task(written: object, output: tuple | None, input_shape: tuple | None) -> str | None:
    """The task written (`train task=`), else the one the output reads as (classify, segment), else None."""
    if written in TASKS:
        return str(written)
    if class_scores(output) is not None:
        return "classify"
    return "segment" if segments(output, input_shape) else None
