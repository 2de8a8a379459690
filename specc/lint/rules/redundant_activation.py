"""An activation line that does nothing.

## What it does
Flags a `relu` or `leaky_relu` line whose input can never be negative (it
comes from a relu, sigmoid or softmax through pooling, flatten or dropout
only), and a `linear` line, which is the identity.

## Why is this bad?
`relu(relu(x)) = relu(x)`: the second activation changes nothing, costs a
pass over the activations, and usually means the activation was written both
at the end of the conv/fc line and on the line below, or that the line was
meant to be something else.

## Example
```
conv 32 3x3 relu
relu
```

## Use instead
```
conv 32 3x3 relu
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...analysis import LayerReport
from ...diagnostics import Diagnostic, warning
from ...ir import Layer
from ...kinds import Activation
from ...kinds.activation import NON_NEGATIVE
from ..view import GraphView, activation

CODE = "W304"
NAME = "redundant-activation"
DEFAULT = True


def non_negative_source(graph: GraphView, r: LayerReport) -> Layer | None:
    """The layer that made ``r``'s input non-negative (through sign-keeping steps only), if any."""
    before = graph.predecessor(r)
    while before is not None:
        if activation(before.layer) in NON_NEGATIVE:
            return before.layer
        if not before.layer.keeps_sign:
            return None
        before = graph.predecessor(before)
    return None


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r in graph.of_kind(Activation):
        layer = r.layer
        if layer.function == "linear":
            yield warning(CODE, f"`linear` on its own line ({layer.name}) is the identity: it does nothing",
                          layer.span, "remove the line")
        elif layer.function in ("relu", "leaky_relu") and (source := non_negative_source(graph, r)):
            yield warning(
                CODE,
                f"{layer.name} does nothing: its input is already non-negative "
                f"({activation(source)} on {source.name}, line {source.line})",
                layer.span, "remove the line")
