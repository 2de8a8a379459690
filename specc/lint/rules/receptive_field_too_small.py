"""Global pooling over units that each saw less than a quarter of the input.

## What it does
Flags a global pooling (`globalavgpool`, `globalmaxpool`, or adaptive pooling
to one position, `avgpool out=1`) whose input units have a receptive
field less than half the network's input, in height or width: each unit
before the pooling has seen less than a quarter of the image. (A receptive
field a little short of the input, like the 27x27 of the all-convolutional
net on 32x32 images, is not flagged.)

## Why is this bad?
Global pooling throws away where a feature was; what is left is a bag of
local patch detectors. If each detector sees only a 7x7 patch of a 32x32
image, the classifier can count textures but cannot relate the parts of an
object to each other. The receptive field grows by `(f - 1)·jump` per layer
(the report's RF column), so each pooling or strided layer makes the next
convolutions see much further. (A `fc` layer after the convolutions is not
flagged: it is connected to every position, so it sees the whole input. Nor
is a global pooling that feeds a gate, a `multiply` such as
squeeze-and-excitation's: it weighs channels, it does not classify.)

## Example
```
input 32x32x3
conv 32 3x3 padding=same relu
conv 64 3x3 padding=same relu
globalavgpool                 # each unit saw 5x5 of 32x32: W205
fc 10 softmax
```

## Use instead
```
input 32x32x3
conv 32 3x3 padding=same relu
maxpool 2x2
conv 64 3x3 padding=same relu
maxpool 2x2
conv 128 3x3 padding=same relu
maxpool 2x2
conv 128 3x3 padding=same relu   # receptive field 38x38
globalavgpool
fc 10 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...analysis import LayerReport
from ...diagnostics import Diagnostic, warning
from ...kinds import Multiply
from ...kinds.pool import pools_whole_map
from ..view import GraphView, dims

CODE = "W205"
NAME = "receptive-field-too-small"
DEFAULT = True
_POOLING = ("whole", "adaptive")  # the receptive traits of the kinds pools_whole_map may accept


def _upstream(graph: GraphView, r: LayerReport) -> Iterator[LayerReport]:
    """The layers before ``r``, following each layer's first input back to the network's input."""
    inputs = r.layer.inputs
    while inputs and (before := graph.by_name.get(inputs[0])) is not None:
        yield before
        inputs = before.layer.inputs


def feeds_gate(graph: GraphView, r: LayerReport) -> bool:
    """Whether ``r``'s output alone goes (through a chain) into a `multiply`: squeeze-and-excitation."""
    return any(isinstance(s.layer, Multiply) for x in (r, *graph.chain_after(r)) for s in graph.successors(x))


def check(graph: GraphView) -> Iterator[Diagnostic]:
    model = graph.model
    if model.input is None or len(model.input) != 3:
        return
    size = model.input[:2]
    # the receptive trait first: most layers are not pooling, and it is read without a call
    for r in (r for r in graph.reports if r.layer.receptive in _POOLING and pools_whole_map(r.layer)):
        before = graph.predecessor(r)
        field = before.receptive_field if before else (1, 1)
        if field is None or all(2 * f >= n for f, n in zip(field, size)) or feeds_gate(graph, r):
            continue
        seen = 100 * min(field[0], size[0]) * min(field[1], size[1]) / (size[0] * size[1])
        window = next((a.layer.name for a in _upstream(graph, r) if a.layer.receptive == "window"), None)
        where = f"({window}) " if window else ""
        yield warning(
            CODE,
            f"{r.layer.name} pools units whose receptive field {where}is {dims(field)}, {seen:.3g}% of the "
            f"{dims(size)} input: each unit before it saw less than a quarter of the image",
            r.layer.span,
            "add convolutions, pooling or strides before the global pooling until the receptive field (the "
            "report's RF column) approaches the input size")
