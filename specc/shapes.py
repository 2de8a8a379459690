"""Output shapes, parameters and MACs for every layer kind. Pure functions; no torch.

A rule takes the layer and its input shape; a merge's rule takes one Operand
per input (name, line, kind, shape), so that a mismatch names them all.

Shapes are (H, W, C) for a volume and (N,) for a vector, as the course writes
them; a dimension is None where an earlier error left it unknown, and rules
then skip the checks that need it instead of reporting a cascade.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from . import ir
from .diagnostics import Diagnostic, error
from .ir import Pads, Shape
from .numbers import dims  # the one formatter of shapes


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
    """What a rule gives. A named tuple: immutable, and built in a third of a
    frozen dataclass's time (which sets each field through object.__setattr__)."""

    output: Shape | None
    params: int | None = 0
    buffers: int = 0
    macs: int | None = 0
    fan_in: int | None = None
    in_channels: int | None = None
    pads: Pads | None = None
    diagnostics: tuple[Diagnostic, ...] = ()


def size_of(shape: Shape | None) -> int | None:
    if shape is None or None in shape:
        return None
    return math.prod(shape)


RANKS = {1: "1-D", 2: "2-D", 3: "3-D"}
AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _not_a_volume(layer: ir.Layer, shape: Shape, channels: int | None = None) -> Result:
    message = f"`{layer.kind}` needs a volume (HxWxC), but its input is a vector of {shape[0]}"
    hint = "convolutions and pooling come before `flatten` and `fc`"
    return Result((None, None, channels), None, 0, None, diagnostics=(error("E203", message, layer.span, hint),))


def _pads(layer: ir.Conv | ir.Pool, spatial: tuple, dilation: ir.Pair) -> Pads | None:
    """(before, after) per axis, flattened: (top, bottom, left, right) on a 2-D map."""
    if layer.padding != "same":
        return tuple([p for p in layer.padding for _ in (0, 1)])
    if None in spatial:
        return None
    pads: list[int] = []
    for n, k, s, d in zip(spatial, layer.kernel, layer.stride, dilation):
        pads += same_padding(n, k, s, d)
    return tuple(pads)


def _spatial(layer: ir.Conv | ir.Pool, spatial: tuple, dilation: ir.Pair):
    """Output size per spatial axis and the resolved pads, or an E201 diagnostic."""
    pads = _pads(layer, spatial, dilation)
    if pads is None:
        return (None,) * len(spatial), None, ()
    out = []
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


def _vanishes(layer: ir.Conv | ir.Pool, i: int, size: int, pad: int, dilation: int) -> Diagnostic:
    """E201: the window leaves nothing of axis ``i``."""
    axis = AXIS_NAMES[len(layer.kernel)][i]
    d = f", dilation {dilation}" if dilation != 1 else ""
    message = (f"output {axis} would be 0 (input {size}, kernel {layer.kernel[i]}, padding {pad}, "
               f"stride {layer.stride[i]}{d})")
    return error("E201", message, layer.span_of("kernel"),
                 "use a smaller kernel, padding=same, or fewer pooling layers before")


def _groups_problem(layer: ir.Layer, c: int | None, filters: int, g: int) -> tuple[Diagnostic, ...]:
    if c is None or not (c % g or filters % g):
        return ()
    what, n = ("input channels", c) if c % g else ("filters", filters)
    return (error("E202", f"groups={g} does not divide the {what} ({n})", layer.span_of("groups"),
                  "groups must divide both the input channels and the filters"),)


def conv(layer: ir.Conv, shape: Shape | None) -> Result:
    """Conv1d/2d/3d, the rank taken from the input; ``dwconv`` arrives with filters and groups filled in."""
    if shape is not None and len(shape) < 2:  # before the filters: a dwconv on a vector has none
        return _not_a_volume(layer, shape, layer.filters)
    if shape is None or layer.filters is None:
        return Result(None if layer.filters is None else (None, None, layer.filters), None, 0, None)
    c = shape[-1]
    out, pads, problems = _spatial(layer, shape[:-1], layer.dilation)
    g = layer.groups
    grouping = _groups_problem(layer, c, layer.filters, g)
    problems += grouping
    c = None if grouping else c
    fan_in = None if c is None else math.prod(layer.kernel) * c // g
    params = None if fan_in is None else (fan_in + layer.bias) * layer.filters
    macs = None if fan_in is None or None in out else math.prod(out) * layer.filters * fan_in
    return Result((*out, layer.filters), params, 0, macs, fan_in, shape[-1], pads, problems)


def pool(layer: ir.Pool, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return _not_a_volume(layer, shape)
    c = shape[-1]
    problems: tuple[Diagnostic, ...] = ()
    if layer.padding != "same" and any(p > k // 2 for p, k in zip(layer.padding, layer.kernel)):
        message = f"padding {dims(layer.padding)} is more than half the kernel {dims(layer.kernel)}"
        problems = (error("E204", message, layer.span_of("padding"),
                          "a window wholly in the padding has nothing to pool; use at most kernel/2"),)
    out, pads, shrink = _spatial(layer, shape[:-1], (1,) * (len(shape) - 1))
    return Result((*out, c), 0, 0, 0, None, c, pads, problems + shrink)


def global_pool(layer: ir.GlobalPool, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return _not_a_volume(layer, shape)
    return Result((1,) * (len(shape) - 1) + (shape[-1],), in_channels=shape[-1])


def flatten(layer: ir.Flatten, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    return Result((size_of(shape),))


def dense(layer: ir.Dense, shape: Shape | None) -> Result:
    n_in = size_of(shape)
    if n_in is None:
        return Result((layer.units,), None, 0, None)
    return Result((layer.units,), (n_in + layer.bias) * layer.units, 0, n_in * layer.units, n_in)


def batchnorm(layer: ir.BatchNorm, shape: Shape | None) -> Result:
    c = None if shape is None else shape[-1]
    if c is None:
        return Result(shape, None)
    return Result(shape, 2 * c, 2 * c, 0, in_channels=c)


def identity(layer: ir.Layer, shape: Shape | None) -> Result:
    return Result(shape)


class Operand(NamedTuple):
    """One input of a merge, as its error message names it."""

    name: str
    line: int | None  # None for the network's input
    kind: str
    shape: Shape | None
    trace: object = None  # specc.floors.Trace: the floorings upstream, for concat's message
    network: Shape | None = None  # the network's input shape

    def __str__(self) -> str:
        where = "the network's input" if self.line is None else f"line {self.line}, {self.kind}"
        return f"{self.name} ({where}, {dims(self.shape)})"




AXES = ("height", "width", "channels")


def _mismatch(layer: ir.Layer, operands: tuple[Operand, ...], axes: tuple[int, ...], what: str,
              fix: str) -> Result:
    """An E205 at the merge line naming every operand, the axis that differs and a fix."""
    rank = {len(o.shape) for o in operands}
    if len(rank) > 1:
        axis_text = "rank (a volume against a vector)"
    else:
        (r,) = rank
        names = ("size",) if r == 1 else (*AXIS_NAMES[r - 1], "channels")
        differ = [names[a] for a in axes if len({o.shape[a] for o in operands}) > 1]
        axis_text = " and ".join(differ)
    message = (f"`{layer.kind}` needs {what}, but its inputs differ in {axis_text}: "
               + ", ".join(str(o) for o in operands))
    return Result(None, 0, 0, 0, diagnostics=(error("E205", message, layer.span, fix),))


def _known(operands: tuple[Operand, ...]) -> bool:
    return all(o.shape is not None and None not in o.shape for o in operands)


def _projection_hint(operands: tuple[Operand, ...], target: Operand) -> str:
    other = next(o for o in operands if o.shape != target.shape)
    return (f"project {other.name} to {dims(target.shape)} first, e.g. a 1x1 conv: "
            f"`conv {target.shape[-1]} 1x1 from={other.name}` (with a stride if the maps differ in size)")


def add(layer: ir.Add, *operands: Operand) -> Result:
    if not _known(operands):
        return Result(next((o.shape for o in operands if o.shape is not None), None))
    first = operands[0]
    if any(o.shape != first.shape for o in operands):
        return _mismatch(layer, operands, tuple(range(len(first.shape))), "inputs of one shape",
                         _projection_hint(operands, first))
    return Result(first.shape)


def concat(layer: ir.Concat, *operands: Operand) -> Result:
    if not _known(operands):
        return Result(None)
    ranks = {len(o.shape) for o in operands}
    if ranks == {1}:
        return Result((sum(o.shape[0] for o in operands),))
    if len(ranks) > 1 or 1 in ranks or len({o.shape[:-1] for o in operands}) > 1:
        fix = _floored(operands) or (
            "crop, pad or resize one input so that height and width agree (a pooling that floors an odd "
            "size is the usual cause: make the input size divisible by 2 for each pooling)")
        return _mismatch(layer, operands, tuple(range(len(operands[0].shape) - 1)), "equal height and width", fix)
    return Result((*operands[0].shape[:-1], sum(o.shape[-1] for o in operands)))


def _floored(operands: tuple[Operand, ...]) -> str | None:
    """Which strided layer floored which size, when that is why the maps differ (specc.floors)."""
    from .floors import explain

    if len({len(o.shape) for o in operands}) > 1 or any(o.trace is None for o in operands):
        return None
    small = min(operands, key=lambda o: o.shape[:-1])
    large = max(operands, key=lambda o: o.shape[:-1])
    axes = [a for a in range(len(small.shape) - 1) if small.shape[a] != large.shape[a]]
    return explain(small.trace, large.trace, small.network, axes)


def multiply(layer: ir.Multiply, *operands: Operand) -> Result:
    if not _known(operands):
        return Result(None)
    largest = max(operands, key=lambda o: size_of(o.shape))
    for o in operands:
        scales = len(o.shape) == 3 and o.shape[:2] == (1, 1) and o.shape[2] == largest.shape[-1]
        if o.shape != largest.shape and not (len(largest.shape) == 3 and scales):
            fix = (f"multiply inputs of one shape, or a 1x1x{largest.shape[-1]} gate with the "
                   f"{dims(largest.shape)} map (squeeze-excitation)")
            return _mismatch(layer, operands, tuple(range(len(largest.shape))), "equal shapes or a 1x1xC gate", fix)
    return Result(largest.shape)


def invalid(layer: ir.Invalid, *shapes: Shape | None) -> Result:
    if layer.units is not None:
        return Result((layer.units,), None, 0, None)
    if layer.filters is not None:
        return Result((None, None, layer.filters), None, 0, None)
    return Result(None, None, 0, None)
