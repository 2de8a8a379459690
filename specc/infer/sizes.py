"""The bound on sizes that shape inference computes (E209). No torch.

A written number is at most MAX_INT (specc.kinds.values, E106), and so is every size
computed from them: an output height, width, depth, channel count or vector
length past it is E209 at the layer whose output crosses it. That axis is
unknown from there on, so later layers neither report a cascade nor compute
with the oversized value (a thousand `upsample 2` lines would otherwise make
numbers of hundreds of digits, and then figures no float holds).
"""

from __future__ import annotations

from .. import ir
from ..diagnostics import Diagnostic, error
from ..ir import Shape
from ..kinds import ConvTranspose, DepthwiseConv, Merge, Upsample, ZeroPad
from ..kinds.geometry import AXIS_NAMES
from ..kinds.resize import zeropad_sides
from ..kinds.values import MAX_INT
from ..numbers import dims
from .computed import TOO_LARGE_HELP


def capped(layer: ir.Layer, shape: Shape | None, out: Shape | None) -> tuple[Shape | None, Diagnostic | None]:
    """The output with its axes past MAX_INT unknown (None), and the E209 for the first of them."""
    if out is None or all(n is None or n <= MAX_INT for n in out):
        return out, None
    axis = next(i for i, n in enumerate(out) if n is not None and n > MAX_INT)
    message = (f"output {_axis_name(out, axis)} would be {out[axis]:,} ({_why(layer, shape, axis)}); "
               f"sizes are capped at {MAX_INT:,}")
    known = tuple(None if n is not None and n > MAX_INT else n for n in out)
    return known, error("E209", message, layer.span, TOO_LARGE_HELP)


def _axis_name(out: Shape, axis: int) -> str:
    rank = len(out) - 1
    if rank == 0:
        return "size"
    return "channels" if axis == rank else AXIS_NAMES[rank][axis]


def _why(layer: ir.Layer, shape: Shape | None, axis: int) -> str:
    """How the layer made the size: its input's and its own numbers on that axis."""
    n = None if shape is None or axis >= len(shape) else shape[axis]
    if isinstance(layer, Upsample) and n is not None:
        return f"input {n:,} × factor {layer.factor[axis]:,}"
    if isinstance(layer, ConvTranspose) and shape is not None and n is not None and axis < len(shape) - 1:
        return f"input {n:,}, kernel {layer.kernel[axis]:,}, stride {layer.stride[axis]:,}"
    if isinstance(layer, ZeroPad) and shape is not None and n is not None and axis < len(shape) - 1:
        before, after = zeropad_sides(layer)[2 * axis : 2 * axis + 2]
        return f"input {n:,} + padding {before:,} + {after:,}"
    if isinstance(layer, Merge):
        return f"the sum of the {len(layer.inputs)} inputs' sizes"
    if isinstance(layer, DepthwiseConv) and shape is not None:
        return f"input channels {shape[-1]:,} × multiplier {layer.multiplier:,}"
    return f"input {dims(shape)}"
