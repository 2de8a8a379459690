"""The network has no activation function at all.

## What it does
Flags a network with two or more conv/fc layers and not a single `relu`,
`leaky_relu`, `sigmoid` or `tanh` (a `softmax` on the output does not count:
it only turns scores into probabilities).

## Why is this bad?
Without nonlinearities every layer is a linear map and their composition is
one linear map: however deep, the network is a linear classifier (logistic
regression when it ends in softmax). Reported once for the network, at its
first layer, rather than for every pair of layers (W102).

## Example
```
input 28x28x1
conv 8 3x3
maxpool 2x2
fc 10 softmax
```

## Use instead
```
input 28x28x1
conv 8 3x3 relu
maxpool 2x2
fc 10 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ..view import GraphView, bends

CODE = "W103"
NAME = "no-activation"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    if bends(graph.reports):
        return
    weighted = [r.layer for r in graph.weighted()]
    if len(weighted) < 2:
        return
    names = ", ".join(layer.name for layer in weighted)
    yield warning(
        CODE,
        f"no hidden layer has an activation: {names} compose into one linear map, so the network is a linear "
        f"classifier however deep it is",
        weighted[0].span,
        f"end each hidden conv and fc line with an activation, e.g. `relu` at the end of line "
        f"{weighted[0].line}")
