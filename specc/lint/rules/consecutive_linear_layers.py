"""Two conv/fc layers with no nonlinearity between them.

## What it does
Flags a conv or fc layer without an activation whose output reaches the next
conv or fc layer through nothing but linear steps: `flatten`, `dropout`,
average pooling, `batchnorm` or a `linear` line. Max pooling and any
activation break the chain. Networks without a single activation are left to
W103 (`no-activation`), which reports them once. A linear bottleneck is not
flagged: a projection narrower than both its input and the next layer's
output (MobileNetV2's and MobileNetV3's `conv c 1x1` after the depthwise
convolution) is a cheaper factorisation of the layers around it, and an
activation there would destroy information the narrow layer cannot spare.

## Why is this bad?
A composition of linear maps is one linear map: the two layers compute what a
single layer could, so the extra depth adds parameters and MACs but no
expressive power. (Batchnorm is an affine map once its statistics are frozen,
so it does not help.) Usually an activation was forgotten.

## Example
```
conv 32 3x3 padding=same
batchnorm
conv 32 3x3 padding=same relu
```

## Use instead
```
conv 32 3x3 padding=same
batchnorm
relu
conv 32 3x3 padding=same relu
```
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from ...analysis import LayerReport
from ...diagnostics import Diagnostic, warning
from ...kinds import Dense
from ...kinds.geometry import is_known
from ..view import GraphView, activation, bends

CODE = "W102"
NAME = "consecutive-linear-layers"
DEFAULT = True


def linear_successor(graph: GraphView, r: LayerReport) -> LayerReport | None:
    """The conv/fc layer that ``r``'s output alone reaches through linear steps, if any.

    A branch or a merge ends the search: a linear projection before a residual
    add (ResNet, MobileNet v2's linear bottleneck) is intended.
    """
    for after in graph.chain_after(r):
        if after.layer.weighted:
            return after
        if not after.layer.linear:
            return None
    return None


def _width(shape: tuple[int | None, ...] | None, whole: bool = False) -> int | None:
    """Values per position (the channels), or of the whole volume for a layer that reads it whole (fc)."""
    if not shape or not is_known(shape):
        return None
    return math.prod(shape) if whole else shape[-1]


def linear_bottleneck(r: LayerReport, after: LayerReport) -> bool:
    """Whether ``r`` is narrower than both its input and ``after``'s output: a projection by design."""
    width, then = _width(r.output), _width(after.output)
    before = _width(r.input, whole=isinstance(r.layer, Dense))
    return width is not None and before is not None and then is not None and width < min(before, then)


def check(graph: GraphView) -> Iterator[Diagnostic]:
    if not bends(graph.reports):
        return  # W103's case
    for r in graph.weighted():
        if activation(r.layer):
            continue
        after = linear_successor(graph, r)
        if after is None or linear_bottleneck(r, after):
            continue
        first, second = r.layer, after.layer
        adds = f"{after.params or 0:,} parameters" if second.shares is None else f"{second.shares.owner}'s parameters"
        yield warning(
            CODE,
            f"{first.name} has no activation, so it and {second.name} (line {second.line}) compose into a "
            f"single linear map: the second layer adds {adds} but no expressive power",
            first.span,
            f"add an activation to {first.name} (e.g. `relu` at the end of its line, or a `relu` line after "
            f"its batchnorm), or merge the two layers into one")
