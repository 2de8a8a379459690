"""Pooling: `maxpool`, `avgpool` (a window, or `out=` windows fitted to the input: adaptive
pooling) and `globalavgpool`, `globalmaxpool` (the whole map). Their IR, forms, shape rules,
emitters and what their backward keeps. No torch.

`round=up` is PyTorch's ``ceil_mode=True``: the output rounds up, and a last window that
would start in the right padding is dropped. `out=HxW` takes PyTorch's adaptive windows:
output i on an axis of n reads rows floor(i·n/out) to ceil((i+1)·n/out).
"""

from __future__ import annotations

from typing import ClassVar

from ..analysis import LayerReport
from ..diagnostics import Diagnostic, error
from ..ir import Layer, Padding, Pair, Shape, Uniform
from ..numbers import dims
from .base import WINDOW_LETTERS, Form, Kind
from .emitting import (
    Context,
    Unit,
    arguments,
    pad_step,
    padding_argument,
    pads_of,
    pair,
    params_note,
    rank,
    single,
)
from .geometry import AXIS_NAMES, Result, not_a_volume, window_output
from .saved import INT64, Saved, keep_input, padded_size, size
from .values import choice, padding, positive_pair

FAMILY = "pool"


class Pool(Layer):
    """``maxpool`` or ``avgpool``: ``op`` is "max" or "avg"."""

    receptive: ClassVar[str] = "window"
    keeps_sign: ClassVar[bool] = True

    op: str
    kernel: Pair
    stride: Pair
    padding: Padding = Uniform((0, 0))
    dilation: Pair = Uniform((1, 1))  # not written by specs; lets every windowed layer be read alike
    round: str = "down"  # "up": PyTorch's ceil_mode

    # Layer's class-level trait, never assigned; mypy cannot know that a read-only property may replace it.
    @property
    def linear(self) -> bool:  # type: ignore[override]  # average pooling is linear, max pooling is not
        return self.op == "avg"


class AdaptivePool(Layer):
    """``maxpool out=HxW`` or ``avgpool out=HxW``: PyTorch's adaptive pooling to a fixed size."""

    receptive: ClassVar[str] = "adaptive"
    keeps_sign: ClassVar[bool] = True

    op: str
    out: Pair

    @property
    def linear(self) -> bool:  # type: ignore[override]  # as Pool's
        return self.op == "avg"


class GlobalPool(Layer):
    """``globalavgpool`` or ``globalmaxpool``: H and W to 1."""

    receptive: ClassVar[str] = "whole"
    keeps_sign: ClassVar[bool] = True

    op: str

    @property
    def linear(self) -> bool:  # type: ignore[override]  # as Pool's
        return self.op == "avg"


def pools_whole_map(layer: Layer) -> bool:
    """Whether ``layer`` pools each channel's whole map to one value at any input size: `globalavgpool`,
    `globalmaxpool`, and adaptive pooling to 1 (`avgpool out=1`, `maxpool out=1x1`: the same module in PyTorch).
    What a rule about global pooling reads, rather than the keyword."""
    return isinstance(layer, GlobalPool) or (isinstance(layer, AdaptivePool) and all(n == 1 for n in layer.out))


_POOL_OPTIONS = {"kernel": positive_pair, "stride": positive_pair, "padding": padding,
                 "round": choice("down", "up"), "out": positive_pair}
# `out=` sizes the windows itself: with it, a kernel, stride, padding or round is an error (E107).
_ADAPTIVE = {"out": ("kernel", "stride", "padding", "round")}


def ceil_size(size: int, kernel: int, stride: int, before: int, after: int) -> int:
    """One axis of `round=up` (PyTorch's ceil_mode): the output rounded up, less a last window
    that would start in the right padding (it must start inside the input or the left padding)."""
    n = -((kernel - size - before - after) // stride) + 1
    if n > 1 and (n - 1) * stride >= size + before:
        n -= 1
    return n


def largest_window(size: int, out: int) -> int:
    """The widest of PyTorch's adaptive windows on an axis of ``size`` (output i reads rows
    floor(i·size/out) to ceil((i+1)·size/out)); the receptive field counts it. With size = q·out + r,
    a window is q plus 1 or 2 rows: 2 where some i·r < m·out < (i+1)·r, which happens unless r divides out."""
    q, r = divmod(size, out)
    return q if r == 0 else q + 1 if out % r == 0 else q + 2


def pool(layer: Pool, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return not_a_volume(layer, shape)
    c = shape[-1]
    problems: tuple[Diagnostic, ...] = ()
    if layer.padding != "same" and any(p > k // 2 for p, k in zip(layer.padding, layer.kernel)):
        message = f"padding {dims(layer.padding)} is more than half the kernel {dims(layer.kernel)}"
        problems = (error("E204", message, layer.span_of("padding"),
                          "a window wholly in the padding has nothing to pool; use at most kernel/2"),)
    out, pads, shrink = window_output(layer, shape[:-1], (1,) * (len(shape) - 1))
    if layer.round == "up" and layer.padding != "same" and pads is not None:  # same already rounds up
        out, shrink = _rounded_up(layer, shape[:-1], pads)
    return Result((*out, c), 0, 0, 0, None, c, pads, problems + shrink)


def _rounded_up(layer: Pool, spatial: tuple, pads: tuple) -> tuple[tuple, tuple[Diagnostic, ...]]:
    """The output of `round=up`, or an E201 where not even one window starts in the input."""
    out: list[int | None] = []
    for i, length in enumerate(spatial):
        if length is None:
            out.append(None)
            continue
        k, s, before, after = layer.kernel[i], layer.stride[i], pads[2 * i], pads[2 * i + 1]
        n = ceil_size(length, k, s, before, after)
        axis = AXIS_NAMES[len(spatial)][i]
        if n < 1:
            message = (f"output {axis} would be 0 (input {length}, kernel {k}, padding {before + after}, "
                       f"stride {s}, round=up)")
            return (None,) * len(spatial), (error("E201", message, layer.span_of("kernel"),
                                                  "use a smaller kernel or fewer pooling layers before"),)
        if layer.op == "avg" and len(spatial) == 3 and length < k:
            message = (f"output {axis}: 3-D average pooling with round=up needs an input at least the kernel "
                       f"(input {length}, kernel {k}), as PyTorch's AvgPool3d does")
            return (None,) * len(spatial), (error("E201", message, layer.span_of("kernel"),
                                                  "use a smaller kernel, or round=down with padding"),)
        out.append(n)
    return tuple(out), ()


def adaptive_pool(layer: AdaptivePool, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return not_a_volume(layer, shape)
    return Result((*layer.out, shape[-1]), in_channels=shape[-1])


def global_pool(layer: GlobalPool, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return not_a_volume(layer, shape)
    return Result((1,) * (len(shape) - 1) + (shape[-1],), in_channels=shape[-1])


def pads_first(layer: Pool, r: LayerReport) -> bool:
    """Whether the generated code pads with a module of its own before the pooling (so a padded copy
    is what backward keeps): `padding=same` that needs one more pixel bottom/right, and any padding in
    1-D and 3-D, where MaxPool1d/3d and AvgPool1d/3d refuse an input smaller than the kernel even where
    the padding makes up the difference. Not with round=up: on a padded copy ceil_mode would keep a
    last window that starts in the right padding."""
    pads = r.pads
    if pads is None:
        return False
    uneven = layer.padding == "same" and pads[0::2] != pads[1::2]
    return uneven or (r.input is not None and len(r.input) != 3 and any(pads) and layer.round != "up")


def emit_pool(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Pool)  # EMITTERS dispatches on the layer's class
    unit = Unit([], [])
    padding, explicit = padding_argument(layer, r, False)
    if pads_first(layer, r):
        pads = pads_of(r)
        before, after = pads[0::2], pads[1::2]
        padding, explicit = None, tuple(p for b, a in reversed(list(zip(before, after))) for p in (b, a))
    # Max pooling pads with -inf (a padded pixel never wins); average pooling
    # counts padded zeros, as nn.AvgPool2d's count_include_pad=True does.
    fill = 'float("-inf")' if layer.op == "max" else None
    x = pad_step(r, ctx, unit, explicit, fill) if explicit else ctx.input
    cls = f"nn.MaxPool{rank(r)}d" if layer.op == "max" else f"nn.AvgPool{rank(r)}d"
    ceil = "True" if layer.round == "up" and layer.padding != "same" else None
    args = arguments(("kernel_size", pair(layer.kernel)), ("stride", pair(layer.stride)), ("padding", padding),
                     ("ceil_mode", ceil))
    unit.modules.append((ctx.attr, f"{cls}({args})", params_note(r)))
    unit.steps.append(ctx.step(f"self.{ctx.attr}({x})", r.output))
    return unit


def emit_adaptive_pool(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, AdaptivePool)  # EMITTERS dispatches on the layer's class
    cls = f"nn.AdaptiveMaxPool{rank(r)}d" if layer.op == "max" else f"nn.AdaptiveAvgPool{rank(r)}d"
    return single(r, ctx, f"{cls}({pair(layer.out)})")


def emit_global_pool(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, GlobalPool)  # EMITTERS dispatches on the layer's class
    cls = f"nn.AdaptiveMaxPool{rank(r)}d" if layer.op == "max" else f"nn.AdaptiveAvgPool{rank(r)}d"
    return single(r, ctx, f"{cls}(1)")


def keeps_pool(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Its input (or the padded copy made before it, see pads_first), and max pooling its int64 indices."""
    layer, pads = r.layer, r.pads
    assert isinstance(layer, Pool)  # KINDS dispatches on the layer's class
    keep_input(r, saved, reads, padded_size(r, pads) if pads is not None and pads_first(layer, r) else None)
    if layer.op == "max":
        saved.keep(f"{layer.name}/indices", size(r.output), INT64)


def keeps_adaptive_pool(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Its input (average pooling's backward reads only the shape, but torch keeps it; to a single value per
    channel torch takes the mean, which keeps nothing), and max pooling its int64 indices."""
    layer = r.layer
    assert isinstance(layer, AdaptivePool)  # KINDS dispatches on the layer's class
    if layer.op == "max" or any(n != 1 for n in layer.out):
        keep_input(r, saved, reads, None)
    if layer.op == "max":
        saved.keep(f"{layer.name}/indices", size(r.output), INT64)


def keeps_global_pool(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Max pooling its input and indices; average pooling's backward needs only the input's shape."""
    layer = r.layer
    assert isinstance(layer, GlobalPool)  # KINDS dispatches on the layer's class
    if layer.op == "max":
        saved.keep(reads[0], size(r.input))
        saved.keep(f"{r.layer.name}/indices", size(r.output), INT64)


KINDS = (
    Kind(Pool, family=FAMILY, shape=pool, emit=emit_pool, keeps=keeps_pool, forms=(
        Form("maxpool", ("kernel",), ("kernel",), _POOL_OPTIONS, WINDOW_LETTERS,
             "maxpool KERNEL [stride=S] [round=up] or maxpool out=HxW, e.g. `maxpool 2x2 stride=2`",
             prefix="pool", fixed={"op": "max"}, same_as={"stride": "kernel"}, instead=_ADAPTIVE,
             variant=AdaptivePool),
        Form("avgpool", ("kernel",), ("kernel",), _POOL_OPTIONS, WINDOW_LETTERS,
             "avgpool KERNEL [stride=S] [round=up] or avgpool out=HxW, e.g. `avgpool 2x2`", prefix="pool",
             fixed={"op": "avg"}, same_as={"stride": "kernel"}, instead=_ADAPTIVE, variant=AdaptivePool))),
    Kind(AdaptivePool, family=FAMILY, shape=adaptive_pool, emit=emit_adaptive_pool, keeps=keeps_adaptive_pool,
         forms=()),
    Kind(GlobalPool, family=FAMILY, shape=global_pool, emit=emit_global_pool, keeps=keeps_global_pool, forms=(
        Form("globalavgpool", usage="globalavgpool", prefix="gpool", fixed={"op": "avg"}),
        Form("globalmaxpool", usage="globalmaxpool", prefix="gpool", fixed={"op": "max"}))),
)
