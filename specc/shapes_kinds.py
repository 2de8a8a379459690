"""Shape rules of the later networks' kinds: transposed convolution, upsampling,
zero padding and the per-example norms (layer, instance, group). Pure
functions; no torch. specc.shapes holds the first kinds and the table RULES.

Shapes are (H, W, C) for a volume, (L, C) for a 1-D signal, (D, H, W, C) for
a 3-D volume and (N,) for a vector; every rule here takes its rank from its
input.
"""

from __future__ import annotations

import math

from . import ir
from .diagnostics import error
from .ir import Shape
from .shapes import AXIS_NAMES, Result, _groups_problem, _not_a_volume, dims


def transposed_size(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                    dilation: int = 1) -> int:
    """One axis of ConvTranspose, as PyTorch's ``Shape:`` section:
    ``(size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1``."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def transposed_same(kernel: int, stride: int, dilation: int = 1) -> tuple[int, int, int]:
    """(padding, output_padding, crop) for one axis of ``p=same``: out = in·stride, as Keras.

    The full output is ``(in-1)·s + w`` with the window ``w = d·(k-1) + 1``, so
    ``w - s`` rows must go (Keras crops them, the odd one at the end). PyTorch
    crops ``padding`` from both ends and gives ``output_padding`` back at the
    end: ``p = ceil((w-s)/2)``, ``op = 2p - (w-s)``. A window shorter than the
    stride needs rows added instead: ``p = 0``, ``op = s - w``. PyTorch needs
    ``op < max(s, d)``; the one case that breaks it (s = d = 1, even kernel) is
    ``p = (w-1-s)/2`` and a crop of the last row (the generated code pads one
    zero row before the input and one more row of padding instead: the same).
    Where ``w - s`` is odd, PyTorch's window sits one row later than Keras'
    (Keras crops the odd row at the end, ``p``/``op`` at the start): the same
    shapes, weights read one row apart.
    """
    total = dilation * (kernel - 1) + 1 - stride
    if total <= 0:
        return 0, -total, 0
    padding = -(-total // 2)
    output_padding = 2 * padding - total
    if output_padding < max(stride, dilation):
        return padding, output_padding, 0
    return total // 2, 0, 1


def transposed_fan_in(kernel: ir.Pair, stride: ir.Pair, dilation: ir.Pair) -> int:
    """The most kernel taps that land on one output position: per axis the taps
    t < k with t·d in one residue class mod s, ``ceil(k / (s / gcd(s, d)))``."""
    return math.prod(-(-k // (s // math.gcd(s, d))) for k, s, d in zip(kernel, stride, dilation))


def _transposed_axes(layer: ir.ConvTranspose, spatial: tuple):
    """Output size per axis, or an E201/E206 diagnostic."""
    out = []
    for i, (axis, n) in enumerate(zip(AXIS_NAMES[len(spatial)], spatial)):
        k, s, d = layer.kernel[i], layer.stride[i], layer.dilation[i]
        if layer.padding == "same":
            p, op, crop = transposed_same(k, s, d)
        else:
            p, op, crop = layer.padding[i], layer.output_padding[i], 0
            if op >= max(s, d):
                message = (f"output_padding {op} must be smaller than the stride ({s})"
                           + (f" or the dilation ({d})" if d > 1 else ""))
                return None, (error("E206", message, layer.span_of("output_padding"),
                                    "output_padding only adds back the rows a stride can drop: at most stride-1; "
                                    "or write p=same for out = in·stride"),)
        if n is None:
            out.append(None)
            continue
        size = transposed_size(n, k, s, p, op, d) - crop
        if size < 1:
            message = f"output {axis} would be {size} (input {n}, kernel {k}, padding {p}, stride {s})"
            return None, (error("E201", message, layer.span_of("padding"), "use less padding"),)
        out.append(size)
    return tuple(out), ()


def convtranspose(layer: ir.ConvTranspose, shape: Shape | None) -> Result:
    if shape is None:
        return Result((None, None, layer.filters), None, 0, None)
    if len(shape) < 2:
        return _not_a_volume(layer, shape, layer.filters)
    c, g = shape[-1], layer.groups
    out, problems = _transposed_axes(layer, shape[:-1])
    grouping = _groups_problem(layer, c, layer.filters, g)
    problems += grouping
    if out is None:
        out = (None,) * (len(shape) - 1)
    if c is None or grouping:
        return Result((*out, layer.filters), None, 0, None, diagnostics=problems)
    per_position = c * (layer.filters // g) * math.prod(layer.kernel)
    params = per_position + (layer.filters if layer.bias else 0)
    macs = None if None in shape else math.prod(shape[:-1]) * per_position
    fan_in = c // g * transposed_fan_in(layer.kernel, layer.stride, layer.dilation)
    return Result((*out, layer.filters), params, 0, macs, fan_in, c, None, problems)


def upsample(layer: ir.Upsample, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return _not_a_volume(layer, shape)
    out = tuple(None if n is None else n * f for n, f in zip(shape[:-1], layer.factor))
    return Result((*out, shape[-1]), in_channels=shape[-1])


def zeropad_sides(layer: ir.ZeroPad) -> tuple[int, ...]:
    """(before, after) per axis: (top, bottom, left, right) on a 2-D map."""
    sides = [p for p in layer.padding for _ in (0, 1)]
    if len(layer.padding) == 2:
        for i, side in enumerate(("top", "bottom", "left", "right")):
            value = getattr(layer, side)
            sides[i] = sides[i] if value is None else value
    return tuple(sides)


def zeropad(layer: ir.ZeroPad, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return _not_a_volume(layer, shape)
    sides = [getattr(layer, s) for s in ("top", "bottom", "left", "right")]
    if len(layer.padding) != 2 and any(v is not None for v in sides):
        side = next(s for s, v in zip(("top", "bottom", "left", "right"), sides) if v is not None)
        message = f"`{side}` names a side of a 2-D map, but the input is {dims(shape)}"
        return Result(None, 0, 0, 0, diagnostics=(error("E105", message, layer.span_of(side),
                                                         "write the padding per axis, e.g. `zeropad 2`"),))
    pads = zeropad_sides(layer)
    out = tuple(None if n is None else n + pads[2 * i] + pads[2 * i + 1] for i, n in enumerate(shape[:-1]))
    return Result((*out, shape[-1]), in_channels=shape[-1], pads=pads)


def norm(layer: ir.Norm, shape: Shape | None) -> Result:
    """Per-example norms; an affine norm learns a scale and a shift per channel (per unit on a vector)."""
    c = None if shape is None else shape[-1]
    if c is None:
        return Result(shape, None)
    if layer.op == "instance" and len(shape) < 2:
        return _not_a_volume(layer, shape)
    if layer.op == "group" and c % layer.groups:
        message = f"groupnorm {layer.groups} does not divide the {c} channels"
        return Result(shape, None, 0, 0, diagnostics=(error("E202", message, layer.span_of("groups"),
                                                             "the number of groups must divide the channels"),))
    if None not in shape and _values_per_group(layer, shape) == 1:
        what = {"instance": "channel", "group": "group", "layer": "example"}[layer.op]
        message = (f"`{layer.kind}` on {dims(shape)} normalises each {what} over a single value: its output "
                   "is always its shift, and PyTorch refuses it")
        return Result(shape, None, 0, 0, diagnostics=(error("E208", message, layer.span,
                                                             "normalise a larger map, or drop the line"),))
    return Result(shape, 2 * c if layer.affine else 0, 0, 0, in_channels=c)


def _values_per_group(layer: ir.Norm, shape: Shape) -> int:
    """How many values one mean and variance are taken over, per example."""
    groups = {"instance": shape[-1], "group": layer.groups, "layer": 1}[layer.op]
    return math.prod(shape) // groups
