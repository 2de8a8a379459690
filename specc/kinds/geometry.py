"""What the shape rules share: the per-axis window formulas, the Result a rule gives, the
names of the axes, and the diagnostics of a window. Pure functions; no torch.

A rule takes the layer and its input shape (a merge's takes one Operand per input,
specc.kinds.merge). Shapes are (H, W, C) for a volume, (L, C) for a 1-D signal,
(D, H, W, C) for a 3-D volume and (N,) for a vector, as the course writes them; a
dimension is None where an earlier error left it unknown, and rules then skip the
checks that need it instead of reporting a cascade.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeGuard

from ..diagnostics import Diagnostic, error
from ..ir import Layer, Pads, Pair, Shape
from ..record import NamedTuple

if TYPE_CHECKING:
    from typing import Protocol

    from ..diagnostics import Span
    from ..ir import Padding

    class Window(Protocol):
        """What the window formulas read of a conv or a pooling: the layers whose ``receptive`` is "window"."""

        kind: str
        name: str
        kernel: Pair
        stride: Pair
        dilation: Pair
        padding: Padding

        @property
        def line(self) -> int: ...

        def span_of(self, name: str) -> Span: ...

RANKS = {1: "1-D", 2: "2-D", 3: "3-D"}
AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """One axis of a convolution or pooling, as PyTorch's Conv2d ``Shape:`` section.

    ``floor((size + padding - dilation * (kernel_size - 1) - 1) / stride) + 1``,
    where ``padding`` is the total of both sides (2p when symmetric).
    """
    return (size + padding - dilation * (kernel_size - 1) - 1) // stride + 1


def same_padding(size: int, kernel_size: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Padding (before, after) that makes the output ``ceil(size / stride)``.

    Total ``max((out - 1) * stride + dilation * (kernel_size - 1) + 1 - size, 0)``,
    the odd pixel on the bottom/right (as TensorFlow and Keras do).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel_size - 1) + 1 - size, 0)
    return total // 2, total - total // 2


class Result(NamedTuple):
    """What a rule gives."""

    output: Shape | None
    params: int | None = 0
    buffers: int = 0
    macs: int | None = 0
    fan_in: int | None = None
    in_channels: int | None = None
    pads: Pads | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    layer: Layer | None = None  # the layer with what the rule resolved for its emitter (a convtranspose's padding)


def is_window(layer: Layer) -> TypeGuard[Window]:
    """Whether ``layer`` is a window (its ``receptive`` trait): a conv or a pooling, with Window's fields."""
    return layer.receptive == "window"


def is_known(shape: Shape | None) -> TypeGuard[tuple[int, ...]]:
    """Whether every dimension of ``shape`` is known (a check a type checker cannot see through)."""
    return shape is not None and None not in shape


def size_of(shape: Shape | None) -> int | None:
    if shape is None or None in shape:  # is_known, written out: every report asks, twice
        return None
    return math.prod(shape)  # type: ignore[arg-type]  # no None in it


def identity(layer: Layer, shape: Shape | None) -> Result:
    """The rule of a kind that changes no shape and learns nothing (activations, dropout)."""
    return Result(shape)


def not_a_volume(layer: Layer, shape: Shape, channels: int | None = None) -> Result:
    """E203: a kind that needs a volume, given a vector."""
    message = f"`{layer.kind}` needs a volume (HxWxC), but its input is a vector of {shape[0]}"
    hint = "convolutions and pooling come before `flatten` and `fc`"
    return Result((None, None, channels), None, 0, None, diagnostics=(error("E203", message, layer.span, hint),))


def window_pads(layer, spatial: tuple, dilation: Pair) -> Pads | None:
    """(before, after) per axis of a conv's or pooling's window, flattened: (top, bottom, left, right) on a 2-D map."""
    if layer.padding != "same":
        return tuple([p for p in layer.padding for _ in (0, 1)])
    if None in spatial:
        return None
    pads: list[int] = []
    for n, k, s, d in zip(spatial, layer.kernel, layer.stride, dilation):
        pads += same_padding(n, k, s, d)
    return tuple(pads)


def window_output(layer, spatial: tuple, dilation: Pair):
    """Output size per spatial axis of a conv's or pooling's window and the resolved pads, or an E201."""
    pads = window_pads(layer, spatial, dilation)
    if pads is None:
        return (None,) * len(spatial), None, ()
    out: list[int | None] = []
    for i, size in enumerate(spatial):
        if size is None:
            out.append(None)
            continue
        pad = pads[2 * i] + pads[2 * i + 1]
        n = output_size(size, layer.kernel[i], layer.stride[i], pad, dilation[i])
        if n < 1:
            return (None,) * len(spatial), pads, (_vanishes(layer, i, size, pad, dilation[i]),)
        out.append(n)
    return tuple(out), pads, ()


def _vanishes(layer, i: int, size: int, pad: int, dilation: int) -> Diagnostic:
    """E201: the window leaves nothing of axis ``i``."""
    axis = AXIS_NAMES[len(layer.kernel)][i]
    d = f", dilation {dilation}" if dilation != 1 else ""
    message = (f"output {axis} would be 0 (input {size}, kernel {layer.kernel[i]}, padding {pad}, "
               f"stride {layer.stride[i]}{d})")
    return error("E201", message, layer.span_of("kernel"),
                 "use a smaller kernel, padding=same, or fewer pooling layers before")

