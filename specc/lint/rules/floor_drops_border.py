"""Floor division silently drops the last rows or columns of the input.

## What it does
Flags a conv or pooling layer where `(n + 2p - f) / s` does not divide
exactly, so that the output size `floor((n + 2p - f) / s) + 1` leaves the
last rows or columns of the input outside every window (with dilation `d`,
`f` is the window `d·(f - 1) + 1`), and says how many. Layers that also skip
rows between their windows are left to W201, which counts both.

## Why is this bad?
The dropped border is computed by the layer before and then ignored, without
any message: a `maxpool 2x2` on a 7x7 map gives 3x3 and never reads row 7 or
column 7. Objects at the bottom and right edge count less than the others, and
the loss of information compounds layer after layer. The classic networks are
sized so that every layer divides exactly: AlexNet's 227 → 55 → 27 → 13 → 6,
VGG-16's 224 → 112 → … → 7.

## Example
```
input 28x28x1
conv 8 3x3 relu               # 26x26
maxpool 2x2                   # 13x13
maxpool 2x2                   # 6x6: row and column 13 dropped
```

## Use instead
```
input 28x28x1
conv 8 3x3 padding=same relu  # 28x28
maxpool 2x2                   # 14x14
maxpool 2x2                   # 7x7
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ..view import GraphView, dims, last, step

CODE = "W202"
NAME = "floor-drops-border"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r, (h, w, _), (missed, (rows, cols)) in graph.unread_windows:
        if missed != (rows, cols):  # gaps between windows are W201's
            continue
        layer = r.layer
        assert r.output is not None  # unread() counts only windows whose output is known
        lost = " and ".join(last(n, word) for n, word in ((rows, "row"), (cols, "column")) if n)
        same = "x".join(str(-(-n // s)) for n, s in zip((h, w), layer.stride))
        yield warning(
            CODE,
            f"{layer.name} on a {h}x{w} map (kernel {dims(layer.kernel)}, stride {step(layer.stride)}) "
            f"never reads {lost}: floor division leaves them outside every window "
            f"(output {dims(r.output[:2])})",
            layer.span,
            f"use `padding=same` (output {same}), or change the layers before so that n + 2p - f is a "
            f"multiple of the stride")
