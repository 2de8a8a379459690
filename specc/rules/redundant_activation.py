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

from collections.abc import Iterator, Sequence

from .. import ir
from ..diagnostics import Diagnostic, warning
from ..infer import LayerReport
from ..ir import Model
from .walk import activation

CODE = "W304"
NAME = "redundant-activation"
DEFAULT = True

NON_NEGATIVE = ("relu", "sigmoid", "softmax")
KEEPS_SIGN = (ir.Pool, ir.GlobalPool, ir.Flatten, ir.Dropout)  # max, mean, reshape and scaling by >= 0


def check(model: Model, reports: Sequence[LayerReport]) -> Iterator[Diagnostic]:
    source: ir.Layer | None = None  # the layer that made the values non-negative, while they are
    for r in reports:
        layer = r.layer
        if isinstance(layer, ir.Activation) and layer.function == "linear":
            yield warning(CODE, f"`linear` on its own line ({layer.name}) is the identity: it does nothing",
                          layer.span, "remove the line")
        elif isinstance(layer, ir.Activation) and layer.function in ("relu", "leaky_relu") and source:
            yield warning(
                CODE,
                f"{layer.name} does nothing: its input is already non-negative "
                f"({activation(source)} on {source.name}, line {source.line})",
                layer.span, "remove the line")
        elif not isinstance(layer, KEEPS_SIGN):
            source = layer if activation(layer) in NON_NEGATIVE else None
