"""An even kernel with `padding=same` pads one side more than the other (opt-in).

## What it does
Flags a conv or pooling layer with `padding=same` and an even kernel (2x2,
4x4, …) whose padding ends up asymmetric: specc, like TensorFlow, puts the odd
pixel at the bottom and right.

## Why is this bad?
An even kernel has no centre pixel. With one more row of padding below than
above, every output sits half a pixel off the input position it is stored at,
so features drift toward the top-left, and the shifts add up over a stack of
such layers. PyTorch's own `padding="same"` pads the same way for even
kernels, and layers ported from frameworks that pad the other way disagree
with it by one pixel. Not on by default: for classification the shift hardly
matters (the course's hand-signs exercise uses 4x4 and 2x2 kernels with same
padding), while for dense predictions (segmentation, detection) it misaligns
outputs with the input; select it with `--select W203`.

## Example
```
conv 32 4x4 padding=same relu
```

## Use instead
```
conv 32 3x3 padding=same relu     # odd kernel: symmetric padding
conv 32 4x4 padding=0 relu        # or explicit padding, accepting the smaller map
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic, warning
from ..view import GraphView, dims

CODE = "W203"
NAME = "even-kernel-same-padding"
DEFAULT = False


def check(graph: GraphView) -> Iterator[Diagnostic]:
    for r, _ in graph.windows():
        layer, pads = r.layer, r.pads
        if layer.padding != "same" or pads is None or all(k % 2 for k in layer.kernel):
            continue
        if pads[0] == pads[1] and pads[2] == pads[3]:
            continue
        top, bottom, left, right = pads
        sides = [f"{top} above and {bottom} below" if top != bottom else "",
                 f"{left} left and {right} right" if left != right else ""]
        yield warning(
            CODE,
            f"padding=same with the even {dims(layer.kernel)} kernel of {layer.name} pads "
            f"{', '.join(s for s in sides if s)}: its outputs are shifted by half a pixel",
            layer.span_of("padding"),
            "use an odd kernel (3x3, 5x5) with padding=same, or explicit padding")
