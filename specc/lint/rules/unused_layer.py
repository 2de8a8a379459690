"""A layer whose output nothing reads.

## What it does
Flags a layer that no later line reads (through the line below, `from=` or a
merge) and that is not an output of the network: the last line, or a layer
the `output` line names.

## Why is this bad?
Its output is computed and thrown away: its parameters and MACs count in
every total but never influence the result, and training cannot change that.
It is usually a branch that was meant to be merged (`add`, `concat`) and was
forgotten, or a `from=` that skipped the line above by mistake.

## Example
```
input 28x28x192
b1:     conv 64 1x1 relu
        conv 96 1x1 relu from=input    # b1 is never read
        concat input
```

## Use instead
```
input 28x28x192
b1:     conv 64 1x1 relu
b3:     conv 96 1x1 relu from=input
        concat b1 b3
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ..view import GraphView

CODE = "W104"
NAME = "unused-layer"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    outputs = set(graph.model.outputs)
    which = "the network's output" if len(outputs) == 1 else "one of the network's outputs"
    for r in graph.unread():
        if r.layer.name in outputs:
            continue
        layer = r.layer
        extra = f": its {r.params:,} parameters and {r.macs:,} MACs are wasted" if r.params and r.macs else ""
        if extra and layer.name in graph.model.owners:  # `share=`: a line that shares uses its parameters
            extra = f": its {r.macs:,} MACs are wasted (its parameters are used where they are shared)"
        yield warning(
            CODE, f"nothing reads the output of {layer.name}, and it is not {which}{extra}",
            layer.span,
            f"merge it where it was meant to go (e.g. `add {layer.name}` or `concat … {layer.name}`), or remove it")
