"""A fully connected layer sees a large feature map.

## What it does
Flags an `fc` layer whose input (directly, or through `flatten`) is a
feature map of more than 16x16 positions.

## Why is this bad?
Every unit of a fully connected layer is connected to every input value, and
no weight is shared. The course's example: a 1000x1000x3 image into 1000
units needs 3,000,000,000 parameters, while a convolution shares one small
kernel across all positions (a 5x5 kernel over 3 channels: 76 parameters per
filter). Classic networks shrink the map to a few positions per side before
their first `fc`: LeNet-5 to 5x5, AlexNet to 6x6, VGG-16 to 7x7.

## Example
```
input 224x224x3
conv 16 3x3 padding=same relu
fc 1000 softmax               # 802,817,000 parameters
```

## Use instead
```
input 224x224x3
conv 16 3x3 padding=same relu
maxpool 2x2
conv 32 3x3 padding=same relu
maxpool 2x2
conv 64 3x3 padding=same relu
globalavgpool
fc 1000 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...analysis import LayerReport
from ...diagnostics import Diagnostic, warning
from ...kinds import Activation, BatchNorm, Dense, Dropout, Flatten
from ..view import GraphView, dims, fp32_size, volume

CODE = "W101"
NAME = "dense-on-large-map"
DEFAULT = True

MAX_POSITIONS = 16 * 16  # more than LeNet-5's 5x5, AlexNet's 6x6 and VGG-16's 7x7 by far
PASS_THROUGH = (Flatten, Dropout, Activation, BatchNorm)


def flattened(graph: GraphView, fc: LayerReport) -> tuple[int, int, int] | None:
    """The volume the fc layer flattens, by itself or via `flatten`."""
    shape = volume(fc.input)
    r = graph.predecessor(fc) if shape is None else None
    while shape is None and r is not None and isinstance(r.layer, PASS_THROUGH):
        if isinstance(r.layer, Flatten):
            shape = volume(r.input)
        r = graph.predecessor(r)
    return shape


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r in graph.of_kind(Dense):
        shape = flattened(graph, r)
        if shape is None or shape[0] * shape[1] <= MAX_POSITIONS or not r.params:
            continue  # unknown, or a layer that shares REF's parameters (`share=`): REF is warned about
        h, w, c = shape
        units = r.layer.units
        conv = (5 * 5 * c + 1) * 16
        yield warning(
            CODE,
            f"{r.layer.name} connects each of its {units:,} units to all {h * w * c:,} values of a "
            f"{dims(shape)} map: {r.params:,} parameters ({fp32_size(r.params)} at fp32), none of them shared",
            r.layer.span,
            f"shrink the map first with conv and pooling layers (a `conv 16 5x5` here would share "
            f"{conv:,} parameters across all {h * w:,} positions), or end the conv stack with "
            f"`globalavgpool`; LeNet-5, AlexNet and VGG-16 reach 5x5, 6x6 and 7x7 before their first fc")
