"""Dropout that does nothing useful.

## What it does
Flags a `dropout` with rate 0, a dropout directly after another dropout,
and a dropout with no conv or fc layer after it (on the network's output,
or right before the output softmax).

## Why is this bad?
Dropout 0 is the identity. Two dropouts in a row are one dropout with a
higher, less obvious rate (0.5 then 0.5 keeps 25%). Dropout regularises by
making the *next* layer's weights cope with missing inputs; with no weights
after it, it only zeroes random outputs (or logits) during training, which
adds noise to the loss and teaches nothing. AlexNet and VGG-16 put their
dropouts before the fully connected layers, never after the last one.

## Example
```
fc 4096 relu
fc 1000
dropout 0.5
softmax
```

## Use instead
```
fc 4096 relu
dropout 0.5
fc 1000 softmax
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...analysis import LayerReport
from ...diagnostics import Diagnostic, warning
from ...kinds import Dropout
from ..view import GraphView

CODE = "W402"
NAME = "useless-dropout"
DEFAULT = True


def problem(graph: GraphView, r: LayerReport) -> tuple[str, str] | None:
    """(message, help) for the dropout ``r``, or None when it is useful."""
    layer = r.layer
    assert isinstance(layer, Dropout)  # check passes its of_kind(Dropout) reports
    before = (graph.predecessor(r) or r).layer
    if layer.rate == 0:
        return f"{layer.name} has rate 0: it does nothing", "remove the line, or give a rate such as 0.5"
    if isinstance(before, Dropout) and before is not layer:
        kept = (1 - before.rate) * (1 - layer.rate)
        return (f"{layer.name} follows {before.name} directly: together they keep {kept:.3g} of the values, "
                f"a dropout of {1 - kept:.3g} written as two", f"use one `dropout {1 - kept:.3g}`")
    if not graph.feeds_weights(r):
        return (f"{layer.name} has no conv or fc layer after it: it zeroes random outputs of the network "
                f"during training instead of regularising a layer's weights",
                "move the dropout before the last fc layer, as AlexNet and VGG-16 do")
    return None


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r in graph.of_kind(Dropout):
        found = problem(graph, r)
        if found:
            span = r.layer.span_of("rate") if r.layer.rate == 0 else r.layer.span
            yield warning(CODE, found[0], span, found[1])
