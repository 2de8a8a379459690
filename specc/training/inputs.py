"""A network's samples as training holds them: one tensor for a spec with one input (as
ever), a tuple of tensors, one per input in the spec's order, for a spec with several.
The loop, the review and the data's placement go through these few functions so that
both read the same; the built module's ``logits`` takes the inputs in the same order.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..runtime.store import Stored

Batch = torch.Tensor | tuple[torch.Tensor, ...]  # samples in memory: a tensor, or one per input
# A folder too big for memory gives a Stored (specc.runtime.store, one input only): its images stay on disk,
# and indexing or slicing it reads them into a float32 tensor, as indexing a tensor of them would give.
Inputs = Batch | Stored


def each(x: Batch) -> tuple[torch.Tensor, ...]:
    """The tensors, one per input: what ``logits(*each(x))`` takes."""
    return x if isinstance(x, tuple) else (x,)


def mapped(x: Inputs, fn: Callable[[torch.Tensor | Stored], torch.Tensor]) -> Batch:
    """``fn`` applied to every input's tensor (the same samples of each)."""
    return tuple(fn(t) for t in x) if isinstance(x, tuple) else fn(x)


def samples(x: Inputs) -> int:
    """How many samples: every input has as many (specc.training.data checks it)."""
    return len(x[0]) if isinstance(x, tuple) else len(x)
