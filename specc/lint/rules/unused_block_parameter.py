"""A block parameter that the block's body never reads.

## What it does
Flags a parameter of a called block that no line of its body uses, as a value
(`conv f 3x3`), inside an expression (`f*2`) or as a layer (`concat skip`).
An option's own word is never a parameter: in `layernorm over=c`, `c` is the
channels even in a block with a parameter `c`, and the help says so.

## Why is this bad?
Every call must pass a value that changes nothing, and a reader of the call
(`res 64 s=2`) believes it does. It is often a typo in the body: `conv f1 3x3`
written where the parameter is `f`, or a stride meant to be `s=s`.

## Example
```
block down(f, s=2) {
        conv f 3x3 p=same relu
}
input 32x32x3
down 16
fc 10 softmax
```

## Use instead
```
block down(f, s=2) {
        conv f 3x3 s=s p=same relu
}
input 32x32x3
down 16
fc 10 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ..view import GraphView

CODE = "W106"
NAME = "unused-block-parameter"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for block in graph.model.blocks:
        if not block.called:
            continue  # W105's case
        words = {param: (written, where) for param, written, where in block.shadowed}
        for name, span, read in block.params:
            if not read:
                hint = f"use `{name}` in the body, or remove it from the definition and the calls"
                if name in words:  # `over=c` with a parameter `c`: the option's own word wins
                    written, where = words[name]
                    hint = (f"`{written}` (line {where.line}) is the option's own word `{name}`, never the "
                            f"parameter: give the parameter another name to pass a value there, or remove it")
                yield warning(CODE, f"block `{block.name}` never reads its parameter `{name}`", span, hint)
