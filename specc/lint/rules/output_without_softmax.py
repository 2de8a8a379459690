"""A classifier's output layer has no softmax (opt-in).

## What it does
Flags a network whose output is a vector of several scores (or a 1x1 map of
them) with no `softmax` (or `sigmoid`) as its last activation; each output of
a network of several (the `output` line) is looked at alone. Not on by
default: training code often wants raw scores (logits) because its loss
applies the softmax itself; select it with `--select W303` where specs are
meant to describe the whole classifier, probabilities included.

## Why is this bad?
The course's classifiers end in softmax, so that the outputs are the
probabilities of the classes. Without it the outputs are unbounded scores;
with `relu` last they cannot even be negative, and a class whose score is
clipped at 0 gets no gradient.

## Example
```
fc 84 relu
fc 10
```

## Use instead
```
fc 84 relu
fc 10 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ... import ir
from ...analysis import LayerReport
from ...diagnostics import Diagnostic, warning
from ..view import GraphView, activation, activation_span

CODE = "W303"
NAME = "output-without-softmax"
DEFAULT = False

PROBABILITIES = ("softmax", "sigmoid")


def last_step(graph: GraphView, r: LayerReport | None) -> ir.Layer | None:
    """The layer that decides the values of output ``r``: the last conv/fc or nonlinear activation before it."""
    while r is not None:
        if r.layer.weighted or activation(r.layer):
            return r.layer
        r = graph.predecessor(r)
    return None


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r in graph.outputs:
        yield from _output(graph, r)


def _output(graph: GraphView, r: LayerReport) -> Iterator[Diagnostic]:
    output = r.output
    if output is None:
        return
    classes = output[-1]
    if any(d != 1 for d in output[:-1]) or classes is None or classes < 2:
        return
    layer = last_step(graph, r)
    if layer is None or activation(layer) in PROBABILITIES:
        return
    ends = f"{activation(layer)} on {layer.name}" if activation(layer) else f"{layer.name} with no activation"
    span = activation_span(layer) if activation(layer) else layer.span
    yield warning(
        CODE,
        f"the network's {classes} outputs end in {ends}: they are scores, not class probabilities",
        span,
        f"end the output layer with `softmax` (e.g. `fc {classes} softmax`)")
