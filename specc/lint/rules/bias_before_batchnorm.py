"""A conv/fc bias right before batchnorm is wasted.

## What it does
Flags a conv or fc layer with a bias (the default) and no activation whose
output goes straight into `batchnorm` (`flatten` between is allowed), and says
how many parameters the bias costs.

## Why is this bad?
Batchnorm subtracts each channel's mean over the batch, and a bias adds the
same constant to every value of its channel, so the bias is subtracted right
away: it never changes the output and its gradient is zero. Batchnorm's own
shift β takes its role, as the course notes when it introduces batch
normalisation. Set `bias=false`: the same network, fewer parameters.

The per-example norms that subtract each channel's own mean cancel it too:
`instancenorm`, and `groupnorm G` with one channel per group (G = C). A
`layernorm` or a `groupnorm` with several channels per group subtracts a mean
over channels, which a per-channel bias survives: not flagged.

## Example
```
conv 64 3x3 padding=same
batchnorm
relu
```

## Use instead
```
conv 64 3x3 padding=same bias=false
batchnorm
relu
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ...kinds import Flatten
from ..view import GraphView, activation

CODE = "W401"
NAME = "bias-before-batchnorm"
DEFAULT = True


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r in graph.weighted():
        layer = r.layer
        if not layer.bias or activation(layer):
            continue
        after = next((a.layer for a in graph.chain_after(r) if not isinstance(a.layer, Flatten)), None)
        biases = r.output[-1] if r.output else None  # one bias per output channel (per unit after fc)
        mean = None if after is None else after.channel_mean(r.output)  # a norm's trait (specc.ir.Layer)
        if after is None or biases is None or mean is None:
            continue
        yield warning(
            CODE,
            f"the {biases:,} biases of {layer.name} are cancelled by {after.name} (line {after.line}), which "
            f"subtracts each channel's {mean}: {biases:,} wasted parameters",
            layer.span_of("bias"),
            f"write `bias=false` on {layer.name}; {after.kind}'s own shift replaces the bias")

