"""The stride skips input pixels that no output ever reads.

## What it does
Flags a conv or pooling layer whose stride is larger than its window (the
kernel, or `d·(f - 1) + 1` with dilation `d`), or whose dilation gaps line up
with the stride, so that some rows or columns of its input fall between the
windows, and says how many. (When the only rows missed are at the bottom or
right border, W202 reports them instead.)

## Why is this bad?
Those pixels are computed (and paid for) by the layer before, then thrown
away: no output of this layer depends on them, and no gradient reaches them.
A `maxpool 2x2 stride=3` reads two of every three rows; a `conv 64 1x1
stride=2` reads one pixel in four.


A 1x1 convolution with a stride whose output goes into a residual `add` (the
projection shortcut of ResNet's convolutional block) is not flagged: it
samples the input on purpose, and its other branch reads every pixel.
## Example
```
maxpool 2x2 stride=3
conv 64 1x1 stride=2
```

## Use instead
```
maxpool 3x3 stride=3          # or 2x2 stride=2
conv 64 3x3 stride=2 padding=same
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ..view import GraphView, dims, step

CODE = "W201"
NAME = "stride-skips-input"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r, (h, w, _), (missed, beyond) in graph.unread_windows:
        if missed == beyond:  # nothing skipped between windows: W202's case, or all read
            continue
        if r.layer.kernel == (1, 1) and graph.feeds_add(r):
            continue  # a strided 1x1 projection of a residual shortcut (ResNet) samples on purpose
        layer = r.layer
        lost = " and ".join(f"{n:,} of the {size:,} {word}" for n, size, word in
                            ((missed[0], h, "rows"), (missed[1], w, "columns")) if n)
        dilated = "" if layer.dilation == (1, 1) else f" dilated by {step(layer.dilation)}"
        yield warning(
            CODE,
            f"{layer.name} (kernel {dims(layer.kernel)}{dilated}, stride {step(layer.stride)}) never reads "
            f"{lost} of its {h}x{w} input: the stride jumps over them",
            layer.span_of("stride"),
            "use a stride no larger than the kernel (e.g. a 2x2 kernel with stride 2, or a 3x3 kernel with "
            "stride 2), or a larger kernel")
