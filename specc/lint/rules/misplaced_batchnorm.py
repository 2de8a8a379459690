"""Batchnorm after the last layer, or twice in a row.

## What it does
Flags a `batchnorm` with no conv or fc layer after it (it normalises the
network's output), and a batchnorm directly after another batchnorm.

## Why is this bad?
Batchnorm keeps the inputs of the *next* layer well scaled during training;
after the last layer it forces every output (every class score) to zero mean
and unit variance over the batch, which fights the loss and makes predictions
depend on the rest of the batch. A second batchnorm right after the first
sees already normalised values: it only adds parameters.

## Example
```
fc 10
batchnorm
softmax
```

## Use instead
```
fc 84
batchnorm
relu
fc 10 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ...kinds import BatchNorm
from ..view import GraphView

CODE = "W403"
NAME = "misplaced-batchnorm"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r in graph.of_kind(BatchNorm):
        layer = r.layer
        before = (graph.predecessor(r) or r).layer
        if isinstance(before, BatchNorm) and before is not layer:
            shared = layer.shares
            adds = f"{r.params or 0:,} parameters" if shared is None else f"work ({shared.owner}'s parameters)"
            yield warning(CODE, f"{layer.name} directly follows {before.name}: its input is already normalised, "
                                f"so it only adds {adds}", layer.span, "remove one of them")
        elif not graph.feeds_weights(r):
            yield warning(CODE, f"{layer.name} comes after the last conv/fc layer: it normalises the network's "
                                f"outputs over each batch instead of a layer's inputs", layer.span,
                          "remove it, or move it between a hidden layer and its activation")
