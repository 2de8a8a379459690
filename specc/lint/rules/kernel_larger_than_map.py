"""Some kernel weights only ever multiply zero padding.

## What it does
Flags a conv layer whose kernel has rows or columns of weights that never
meet an input value, at any output position: the map has shrunk so far (or
the padding is so wide) that those taps always fall in the padding. The
typical case is a 3x3 conv on a 1x1 or 2x1 map after one pooling too many.

## Why is this bad?
A weight that only multiplies zeros receives no gradient and does nothing:
on a 1x1 map a `conv 512 3x3 padding=same` is a 1x1 conv that stores nine
times the weights. It usually means the input is smaller than the network was
designed for, or a pooling layer too many shrank the map.

## Example
```
input 8x8x3
conv 64 3x3 padding=same relu
maxpool 2x2                        # 4x4
maxpool 2x2                        # 2x2
maxpool 2x2                        # 1x1
conv 128 3x3 padding=same relu     # only the centre tap sees the map
```

## Use instead
```
input 8x8x3
conv 64 3x3 padding=same relu
maxpool 2x2                        # 4x4
conv 128 3x3 padding=same relu
maxpool 2x2                        # 2x2
```
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from ... import kinds
from ...diagnostics import Diagnostic, warning
from ..view import EXACT_ROWS, GraphView, dims

CODE = "W204"
NAME = "kernel-larger-than-map"
DEFAULT = True


@lru_cache(maxsize=4096)  # pure, and a network repeats its layers' geometry
def live_taps(size: int, kernel: int, stride: int, dilation: int, before: int, out: int) -> int:
    """How many of the ``kernel`` taps on one axis read an input value at some output.

    Tap i of window o reads padded row ``o·s + i·d``, an input row when it lies in
    ``[before, before + size)``; o runs over ``range(out)``.
    """
    live = 0
    for i in range(kernel):
        low, high = before - i * dilation, before + size - 1 - i * dilation  # o·s must land here
        first = max(-(-low // stride), 0)  # the smallest o with o·s >= low
        live += first * stride <= high and first < out
    return live


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r, (h, w, c) in graph.windows():
        layer, pads = r.layer, r.pads
        if not layer.weighted or pads is None or r.output is None or max(layer.kernel) > EXACT_ROWS:
            continue
        assert isinstance(layer, kinds.Conv)  # the weighted windows are the convs
        kh, kw = layer.kernel
        live_h = live_taps(h, kh, layer.stride[0], layer.dilation[0], pads[0], r.output[0])
        live_w = live_taps(w, kw, layer.stride[1], layer.dilation[1], pads[2], r.output[1])
        if live_h == kh and live_w == kw:
            continue
        dead = (kh * kw - live_h * live_w) * (c // layer.groups) * layer.filters
        yield warning(
            CODE,
            f"{layer.name}'s {dims(layer.kernel)} kernel on a {h}x{w} map: only {live_h * live_w} of its "
            f"{kh * kw} taps ever read an input value, the others always multiply padding "
            f"({dead:,} of its weights never matter)",
            layer.span_of("kernel"),
            f"the map has shrunk to {h}x{w} here: remove a pooling or strided layer before, use a larger "
            f"input, or a kernel no larger than the map")
