"""A block that is defined but never called.

## What it does
Flags a `block NAME(...) { … }` definition that no line of the spec calls.

## Why is this bad?
The block adds nothing to the network, so its body is never checked against
real shapes: a mistake in it stays hidden until the day it is called. Usually
the call was renamed, or the definition is left over from an earlier version.

## Example
```
block res(f) {
        conv f 3x3 p=same relu
        add in
}
input 8x8x16
conv 16 3x3 p=same relu
fc 10 softmax
```

## Use instead
```
block res(f) {
        conv f 3x3 p=same relu
        add in
}
input 8x8x16
res 16
fc 10 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ..view import GraphView

CODE = "W105"
NAME = "unused-block"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for block in graph.model.blocks:
        if not block.called:
            yield warning(CODE, f"block `{block.name}` is never called", block.name_span,
                          f"call it like a layer (`{block.name} …`), or remove the definition")
