"""Softmax before the output, or applied twice.

## What it does
Flags a `softmax` (on a conv/fc line or on its own line) that is followed by
anything other than `flatten`: another layer, another activation, or a second
softmax.

## Why is this bad?
Softmax turns scores into a probability distribution for the loss; it belongs
on the output only. In the middle of a network it squashes every activation
into [0, 1] with a sum of 1, and its gradient vanishes as soon as one score
dominates. Applied twice, the second softmax sees values in [0, 1] and pushes
the probabilities toward uniform (softmax of [1, 0, 0] is [0.58, 0.21, 0.21]),
so the network cannot be confident.

## Example
```
fc 10 softmax
softmax
```

## Use instead
```
fc 10 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...analysis import LayerReport
from ...diagnostics import Diagnostic, warning
from ...kinds import Activation, Flatten
from ..view import GraphView, activation, activation_span, described

CODE = "W301"
NAME = "softmax-not-last"
DEFAULT = True


def _after(graph: GraphView, r: LayerReport) -> Iterator[LayerReport]:
    """The layers that read ``r``, and what follows a `flatten` among them."""
    for after in graph.successors(r):
        yield after
        if isinstance(after.layer, Flatten):
            yield from _after(graph, after)


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r in graph.reports:
        if activation(r.layer) != "softmax":
            continue
        after = next((a.layer for a in _after(graph, r) if not isinstance(a.layer, Flatten)), None)
        if after is None:
            continue
        if isinstance(after, Activation) and after.function == "softmax":
            message = (f"softmax applied twice ({described(r.layer)}, then {after.name} on line {after.line}): the "
                       f"second one flattens the probabilities toward uniform")
            hint = f"remove the softmax on line {after.line}"
        else:
            message = (f"{described(r.layer)} is not the last layer: {after.name} (line {after.line}) follows, "
                       f"so softmax squashes hidden features into probabilities")
            hint = "use `relu` here, and softmax on the output layer only"
        yield warning(CODE, message, activation_span(r.layer), hint)
