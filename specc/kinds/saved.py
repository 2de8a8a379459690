"""What a layer's backward keeps at training time: the ledger each kind's ``keeps``
writes to, and the helpers they share. specc.infer.training_memory walks the graph, fills one
ledger and sums it. No torch.

A kind's ``keeps(report, saved, reads, final)`` records the tensors autograd saves
for its backward as the code `specc compile` writes runs it: ``reads`` are the keys
of the tensors it reads (an input that is another layer's tensor, such as a
flatten's, is that layer's key), ``final`` the final activation that training
leaves out (logits), else None. A tensor kept by several layers is one tensor.
"""

from __future__ import annotations

import math

from ..analysis import LayerReport
from ..ir import INPUT

FP32, INT64 = 4, 8


class Saved:
    """The forward pass's tensors by key (a layer's name, or `name/what` for one it makes inside),
    whether each needs a gradient, and the bytes autograd keeps of each: per sample, and per batch."""

    def __init__(self) -> None:
        self.alias: dict[str, str] = {}  # a layer whose output is another's tensor (flatten, linear)
        self.grad: dict[str, bool] = {INPUT: False}
        self.shape: dict[str, tuple | None] = {}  # each layer's output shape, by its name (and the input's)
        self.kept: dict[str, int] = {}  # key -> bytes per sample; a key kept twice is one tensor
        self.per_batch = 0  # batchnorm's statistics (per channel) and the loss's weight, whatever the batch
        self.per_pair = 0  # bytes per pair of samples: a triplet loss's distance matrices (batch²)

    def key(self, name: str) -> str:
        return self.alias.get(name, name)

    def keep(self, key: str, values: int, width: int = FP32) -> None:
        self.kept[key] = width * values

    def bytes(self, batch: int) -> int:
        return batch * sum(self.kept.values()) + batch * batch * self.per_pair + self.per_batch


def size(shape: tuple | None) -> int:
    """Values of a tensor of ``shape`` per sample (0 where unknown)."""
    return math.prod(d or 0 for d in shape) if shape else 0


def channels_of(shape: tuple | None) -> int:
    """The channels of a tensor of ``shape`` (0 where unknown, as ``size`` counts them)."""
    return (shape[-1] or 0) if shape else 0


def padded_size(r: LayerReport, pads: tuple[int, ...]) -> int:
    """Values of the layer's input with (before, after) ``pads`` per spatial axis added (0 where unknown)."""
    if r.input is None:
        return 0
    spatial = (None if n is None else n + b + a for n, b, a in zip(r.input[:-1], pads[0::2], pads[1::2]))
    return size((*spatial, r.input[-1]))


def keep_input(r: LayerReport, saved: Saved, reads: list[str], padded: int | None = None) -> None:
    """The layer's input, or the padded copy the generated code makes before it (``padded`` values),
    which is what the layer then reads."""
    if padded is None:
        saved.keep(reads[0], size(r.input))
    else:
        saved.keep(f"{r.layer.name}/pad", padded)


def keeps_input(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """A kind whose backward reads its input."""
    saved.keep(reads[0], size(r.input))


def keeps_nothing(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """A kind whose backward needs only shapes."""


def always(r: LayerReport, final: str | None) -> bool:
    """``same_tensor`` of a view: its output is always its input's tensor."""
    return True
