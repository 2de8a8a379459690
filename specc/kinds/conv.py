"""Convolutions: `conv`, `dwconv` (depthwise) and `convtranspose` (alias `deconv`), each
1-, 2- or 3-D as its input is. Their IR, forms, shape rules, emitters and what their
backward keeps. No torch.
"""

from __future__ import annotations

import math
from typing import ClassVar

from ..analysis import LayerReport
from ..diagnostics import Diagnostic, error
from ..ir import Layer, Padding, Pair, Shape, Uniform
from .activation import activate, activation_name, keep_function
from .base import WINDOW_LETTERS, Form, Kind
from .emitting import Context, Unit, arguments, known, pad_step, padding_argument, pair, params_note, rank
from .geometry import AXIS_NAMES, Result, is_known, not_a_volume, window_output
from .saved import Saved, keep_input, padded_size
from .values import any_float, boolean, count, padding, padding_pair, positive_pair

FAMILY = "conv"


class Conv(Layer):
    """``conv N K``: N filters of K×K (one size per axis) over every input channel, or over ``groups``."""

    receptive: ClassVar[str] = "window"
    weighted: ClassVar[bool] = True

    filters: int
    kernel: Pair
    stride: Pair = Uniform((1, 1))
    padding: Padding = Uniform((0, 0))
    dilation: Pair = Uniform((1, 1))
    groups: int = 1
    bias: bool = True
    activation: str | None = None
    slope: float = 0.01

    @property
    def activation_function(self) -> str | None:
        return self.activation


class DepthwiseConv(Conv, kw_only=True):  # inherited from Layer; said again for type checkers, which do not see that
    """``dwconv K``: one filter (``multiplier`` filters) per input channel.

    ``filters`` and ``groups`` follow from the input's channels C (C·m and C);
    specc.infer fills them in before the shape rule, so everything after reads
    it as the grouped convolution it is."""

    receptive: ClassVar[str] = "window"
    weighted: ClassVar[bool] = True

    filters: int | None = None  # type: ignore[assignment]
    multiplier: int = 1
    groups: int | None = None  # type: ignore[assignment]


class ConvTranspose(Layer):
    """``convtranspose N K`` (alias ``deconv``): the gradient of a strided conv,
    each input position spreading a kernel onto an s-times larger map.
    ``padding="same"`` means out = in·s, as Keras' Conv2DTranspose(padding='same')."""

    receptive: ClassVar[str] = "transposed"
    weighted: ClassVar[bool] = True
    linear: ClassVar[bool] = True

    filters: int
    kernel: Pair
    stride: Pair = Uniform((1, 1))
    padding: Padding = Uniform((0, 0))
    output_padding: Pair = Uniform((0, 0))
    dilation: Pair = Uniform((1, 1))
    groups: int = 1
    bias: bool = True
    activation: str | None = None
    slope: float = 0.01
    # (padding, output_padding, crop) per axis, as its shape rule resolves them (transposed_padding):
    # what the emitter and the memory estimate read. None until infer has run the rule.
    resolved_padding: tuple[Pair, Pair, Pair] | None = None

    @property
    def activation_function(self) -> str | None:
        return self.activation


_CONV_OPTIONS = {"filters": count, "kernel": positive_pair, "stride": positive_pair, "padding": padding,
                 "dilation": positive_pair, "groups": count, "bias": boolean, "activation": activation_name,
                 "slope": any_float}
_TRANSPOSE_OPTIONS = {**_CONV_OPTIONS, "output_padding": padding_pair}
_DW_OPTIONS = {k: v for k, v in _CONV_OPTIONS.items() if k not in ("filters", "groups")} | {"multiplier": count}


# --- shapes ---------------------------------------------------------------------------------------

def _groups_problem(layer: Layer, c: int | None, filters: int, g: int) -> tuple[Diagnostic, ...]:
    if c is None or not (c % g or filters % g):
        return ()
    what, n = ("input channels", c) if c % g else ("filters", filters)
    return (error("E202", f"groups={g} does not divide the {what} ({n})", layer.span_of("groups"),
                  "groups must divide both the input channels and the filters"),)


def conv(layer: Conv, shape: Shape | None) -> Result:
    """Conv1d/2d/3d, the rank taken from the input; ``dwconv`` arrives with filters and groups filled in."""
    if shape is not None and len(shape) < 2:  # before the filters: a dwconv on a vector has none
        return not_a_volume(layer, shape, layer.filters)
    if shape is None or layer.filters is None:
        return Result(None if layer.filters is None else (None, None, layer.filters), None, 0, None)
    c = shape[-1]
    out, pads, problems = window_output(layer, shape[:-1], layer.dilation)
    g = layer.groups
    grouping = _groups_problem(layer, c, layer.filters, g)
    problems += grouping
    c = None if grouping else c
    fan_in = None if c is None else math.prod(layer.kernel) * c // g
    params = None if fan_in is None else (fan_in + layer.bias) * layer.filters
    macs = None if fan_in is None or None in out else math.prod(out) * layer.filters * fan_in
    return Result((*out, layer.filters), params, 0, macs, fan_in, shape[-1], pads, problems)


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


def transposed_fan_in(kernel: Pair, stride: Pair, dilation: Pair) -> int:
    """The most kernel taps that land on one output position: per axis the taps
    t < k with t·d in one residue class mod s, ``ceil(k / (s / gcd(s, d)))``."""
    return math.prod(-(-k // (s // math.gcd(s, d))) for k, s, d in zip(kernel, stride, dilation))


def transposed_padding(layer: ConvTranspose) -> tuple[Pair, Pair, Pair]:
    """(padding, output_padding, crop) per axis: as written, or as transposed_same derives them for
    ``p=same``. The shape rule asks here and keeps them on the layer (``resolved_padding``), where the
    emitter and the memory estimate read them."""
    if layer.padding != "same":
        return tuple(layer.padding), tuple(layer.output_padding), (0,) * len(layer.kernel)
    axes = [transposed_same(k, s, d) for k, s, d in zip(layer.kernel, layer.stride, layer.dilation)]
    return tuple(a[0] for a in axes), tuple(a[1] for a in axes), tuple(a[2] for a in axes)


def resolved_padding(layer: ConvTranspose) -> tuple[Pair, Pair, Pair]:
    """(padding, output_padding, crop) per axis as the shape rule resolved them: of an inferred layer."""
    assert layer.resolved_padding is not None, "a convtranspose's padding is read after infer resolved it"
    return layer.resolved_padding


def _transposed_axes(layer: ConvTranspose, spatial: tuple):
    """Output size per axis, or an E201/E206 diagnostic."""
    out: list[int | None] = []
    paddings, output_paddings, crops = resolved_padding(layer)
    for i, (axis, n) in enumerate(zip(AXIS_NAMES[len(spatial)], spatial)):
        k, s, d = layer.kernel[i], layer.stride[i], layer.dilation[i]
        p, op = paddings[i], output_paddings[i]
        if layer.padding != "same" and op >= max(s, d):
            message = (f"output_padding {op} must be smaller than the stride ({s})"
                       + (f" or the dilation ({d})" if d > 1 else ""))
            return None, (error("E206", message, layer.span_of("output_padding"),
                                "output_padding only adds back the rows a stride can drop: at most stride-1; "
                                "or write p=same for out = in·stride"),)
        if n is None:
            out.append(None)
            continue
        size = transposed_size(n, k, s, p, op, d) - crops[i]
        if size < 1:
            message = f"output {axis} would be {size} (input {n}, kernel {k}, padding {p}, stride {s})"
            return None, (error("E201", message, layer.span_of("padding"), "use less padding"),)
        out.append(size)
    return tuple(out), ()


def convtranspose(layer: ConvTranspose, shape: Shape | None) -> Result:
    """Its output, counts and the layer with its padding resolved (``resolved_padding``)."""
    layer = layer._replace(resolved_padding=transposed_padding(layer))
    if shape is None:
        return Result((None, None, layer.filters), None, 0, None, layer=layer)
    if len(shape) < 2:
        return not_a_volume(layer, shape, layer.filters)
    c, g = shape[-1], layer.groups
    out, problems = _transposed_axes(layer, shape[:-1])
    grouping = _groups_problem(layer, c, layer.filters, g)
    problems += grouping
    if out is None:
        out = (None,) * (len(shape) - 1)
    if c is None or grouping:
        return Result((*out, layer.filters), None, 0, None, diagnostics=problems, layer=layer)
    per_position = c * (layer.filters // g) * math.prod(layer.kernel)
    params = per_position + (layer.filters if layer.bias else 0)
    macs = math.prod(shape[:-1]) * per_position if is_known(shape) else None
    fan_in = c // g * transposed_fan_in(layer.kernel, layer.stride, layer.dilation)
    return Result((*out, layer.filters), params, 0, macs, fan_in, c, None, problems, layer)


# --- code -----------------------------------------------------------------------------------------

def emit_conv(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Conv)  # EMITTERS dispatches on the layer's class
    unit = Unit([], [])
    padding, explicit = padding_argument(layer, r, set(layer.stride) == {1})
    x = pad_step(r, ctx, unit, explicit, None) if explicit else ctx.input
    args = arguments(
        ("", str(r.in_channels)), ("", str(layer.filters)), ("kernel_size", pair(layer.kernel)),
        ("stride", None if set(layer.stride) == {1} else pair(layer.stride)), ("padding", padding),
        ("dilation", None if set(layer.dilation) == {1} else pair(layer.dilation)),
        ("groups", None if layer.groups == 1 else str(layer.groups)), ("bias", None if layer.bias else "False"))
    unit.modules.append((ctx.attr, f"nn.Conv{rank(r)}d({args})", params_note(r)))
    expr = activate(layer.activation, layer.slope, f"self.{ctx.attr}({x})")
    unit.steps.append(ctx.step(expr, r.output))
    return unit


def emit_convtranspose(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, ConvTranspose)  # EMITTERS dispatches on the layer's class
    padding, output_padding, crop = resolved_padding(layer)
    unit, x = Unit([], []), ctx.input
    if any(crop):
        # Even kernel at stride 1: one row too many for symmetric padding. Keras drops the last; a zero
        # row before the input and one more row of padding does the same inside the module.
        padding = tuple(p + c for p, c in zip(padding, crop))
        pads = tuple(v for c in reversed(crop) for v in (c, 0))  # F.pad order: the last axis first
        name = ctx.extra("pad")
        unit.modules.append((name, f"nn.ZeroPad{rank(r)}d({pads})", f"line {layer.line}: padding=same of "
                             f"{ctx.attr}, a zero row before (last axis first)"))
        before = known(r.input)
        shape = (*(n + c for n, c in zip(before[:-1], crop)), before[-1])
        unit.steps.append(ctx.step(f"self.{name}({x})", shape, f"line {layer.line}: padding=same of {ctx.attr}"))
        x = ctx.target
    args = arguments(
        ("", str(r.in_channels)), ("", str(layer.filters)), ("kernel_size", pair(layer.kernel)),
        ("stride", None if set(layer.stride) == {1} else pair(layer.stride)),
        ("padding", None if not any(padding) else pair(padding)),
        ("output_padding", None if not any(output_padding) else pair(output_padding)),
        ("groups", None if layer.groups == 1 else str(layer.groups)), ("bias", None if layer.bias else "False"),
        ("dilation", None if set(layer.dilation) == {1} else pair(layer.dilation)))
    note = params_note(r)
    if layer.padding == "same":
        note += ": padding=same, out = in x stride"
    expr = f"self.{ctx.attr}({x})"
    unit.modules.append((ctx.attr, f"nn.ConvTranspose{rank(r)}d({args})", note))
    unit.steps.append(ctx.step(activate(layer.activation, layer.slope, expr), r.output))
    return unit


# --- training memory ------------------------------------------------------------------------------

def keeps_conv(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """The input (or the padded copy uneven `padding=same` makes) for the weights' gradient,
    then what its activation keeps."""
    layer, pads = r.layer, r.pads
    assert isinstance(layer, Conv)  # KINDS dispatches on the layer's class
    uneven = pads is not None and layer.padding == "same" and pads[0::2] != pads[1::2]
    keep_input(r, saved, reads, padded_size(r, pads) if pads is not None and uneven else None)
    keep_function(r, saved, None if final else layer.activation)


def keeps_convtranspose(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """As conv; `same` that crops a row at stride 1 reads a copy with a zero row before."""
    layer, padded = r.layer, None
    assert isinstance(layer, ConvTranspose)  # KINDS dispatches on the layer's class
    if layer.padding == "same":
        crop = resolved_padding(layer)[2]
        if any(crop):  # a zero row before the input on each cropped axis: (crop, 0) pads
            padded = padded_size(r, tuple(p for c in crop for p in (c, 0)))
    keep_input(r, saved, reads, padded)
    keep_function(r, saved, None if final else layer.activation)


KINDS = (
    Kind(Conv, family=FAMILY, shape=conv, emit=emit_conv, keeps=keeps_conv, forms=(
        Form("conv", ("filters", "kernel"), ("filters", "kernel"), _CONV_OPTIONS, WINDOW_LETTERS,
             "conv FILTERS KERNEL [stride=S] [padding=P] [ACTIVATION], e.g. `conv 8 5x5 relu`", True),)),
    Kind(DepthwiseConv, family=FAMILY, shape=conv, emit=emit_conv, keeps=keeps_conv, forms=(
        Form("dwconv", ("kernel",), ("kernel",), _DW_OPTIONS, WINDOW_LETTERS,
             "dwconv KERNEL [stride=S] [padding=P] [multiplier=M] [ACTIVATION], e.g. `dwconv 3 p=1 relu6`",
             True),)),
    Kind(ConvTranspose, family=FAMILY, shape=convtranspose, emit=emit_convtranspose, keeps=keeps_convtranspose,
         forms=(Form("convtranspose", ("filters", "kernel"), ("filters", "kernel"), _TRANSPOSE_OPTIONS,
                     {**WINDOW_LETTERS, "op": "output_padding"},
                     "convtranspose FILTERS KERNEL [stride=S] [padding=P|same] [output_padding=O], "
                     "e.g. `convtranspose 64 3x3 s=2 p=same`", True, prefix="deconv", synonyms=("deconv",)),)),
)
