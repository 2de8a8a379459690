"""Sigmoid or tanh in a hidden layer (opt-in).

## What it does
Flags a `sigmoid` or `tanh` on a hidden layer, i.e. one with a conv or fc
layer after it, and says how many saturating activations a gradient crosses
from the output down to it. Not on by default: classic networks such as
the original LeNet-5 used tanh, and small networks train with it; select it
with `--select W302`.

## Why is this bad?
The derivative of the sigmoid is at most 0.25 and the tanh's falls below 0.1
once |x| > 2: each saturating layer multiplies the gradient flowing back by
such a factor, so through a deep stack the first layers hardly learn
(vanishing gradients). ReLU's derivative is exactly 1 for positive inputs,
which is why the course's and most modern networks use it in hidden layers.

## Example
```
conv 16 3x3 sigmoid
conv 32 3x3 sigmoid
fc 10 softmax
```

## Use instead
```
conv 16 3x3 relu
conv 32 3x3 relu
fc 10 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ...kinds.activation import SATURATING
from ..view import GraphView, activation, activation_span, described

CODE = "W302"
NAME = "saturating-activation"
DEFAULT = False


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r in graph.reports:
        function = activation(r.layer)
        if function not in SATURATING or not graph.feeds_weights(r):
            continue
        chain = [f for a in (r, *graph.downstream(r)) if (f := activation(a.layer)) is not None and f in SATURATING]
        sigmoids = chain.count("sigmoid")
        bound = (f" (each sigmoid's slope is at most 0.25: together they keep at most 0.25^{sigmoids} = "
                 f"{0.25 ** sigmoids:.2g} of it)") if sigmoids else ""
        yield warning(
            CODE,
            f"{described(r.layer)}: gradients flowing back to it cross {len(chain)} saturating "
            f"activation{'s' * (len(chain) != 1)} ({', '.join(chain)}), each shrinking them{bound}",
            activation_span(r.layer),
            "use `relu` (or `leaky_relu`) in hidden layers; keep sigmoid for a binary output")
