"""One emitter per layer kind: the submodules a layer needs and its lines of
``forward``, each with the shape after it. No torch import.

An emitter reads its input tensors through the expressions its Context gives
(``ctx.input``) and writes to ``ctx.target``, so the same emitter serves a
chain (`x = self.conv1(x)`) and a kept branch. Shapes and padding come from
the check report, never recomputed here. tests check EMITTERS covers every kind.
"""

from __future__ import annotations

from .. import ir
from ..analysis import LayerReport
from ..ir import Pair
from .steps import Context, Unit

# Activation word -> (expression applied to `x` inside forward, module for a line of its own).
FUNCTIONS: dict[str, tuple[str, str]] = {
    "relu": ("torch.relu({x})", "nn.ReLU()"),
    "sigmoid": ("torch.sigmoid({x})", "nn.Sigmoid()"),
    "tanh": ("torch.tanh({x})", "nn.Tanh()"),
    "softmax": ("torch.softmax({x}, dim=1)", "nn.Softmax(dim=1)"),
    "leaky_relu": ("nn.functional.leaky_relu({x}, {slope})", "nn.LeakyReLU({slope})"),
    "linear": ("{x}", "nn.Identity()"),
    "relu6": ("nn.functional.relu6({x})", "nn.ReLU6()"),
    "silu": ("nn.functional.silu({x})", "nn.SiLU()"),
    "hardswish": ("nn.functional.hardswish({x})", "nn.Hardswish()"),
    "gelu": ("nn.functional.gelu({x})", "nn.GELU()"),
}


def number(value: float) -> str:
    """A float literal that round-trips, including the infinities a spec can write (`1e999`)."""
    if value != value:
        return 'float("nan")'
    if value in (float("inf"), float("-inf")):
        return 'float("inf")' if value > 0 else 'float("-inf")'
    return repr(float(value))


def pair(p: Pair) -> str:
    """One number when every axis agrees, else a tuple: 5, (3, 5), (3, 3, 1)."""
    return str(p[0]) if len(set(p)) == 1 else f"({', '.join(map(str, p))})"


def rank(r: LayerReport) -> int:
    """Spatial axes of the layer's input: nn.Conv1d, 2d or 3d."""
    return len(r.input) - 1


def activate(function: str | None, slope: float, expr: str) -> str:
    if function is None:
        return expr
    return FUNCTIONS[function][0].format(x=expr, slope=number(slope))


def _padding(r: LayerReport, stride_one_same: bool) -> tuple[str | None, tuple[int, int, int, int] | None]:
    """The layer's own ``padding=`` argument, or the (left, right, top, bottom) a pad module must add.

    Symmetric padding goes into the layer; `padding=same` that needs one more
    pixel bottom/right (even kernels, strides > 1) cannot, so it is explicit.
    """
    layer = r.layer
    if layer.padding != "same":
        return (None if not any(layer.padding) else pair(layer.padding)), None
    before, after = r.pads[0::2], r.pads[1::2]
    if before != after:
        # F.pad order: the last axis first, (left, right, top, bottom) on a 2-D map.
        return None, tuple(p for b, a in reversed(list(zip(before, after))) for p in (b, a))
    if stride_one_same:
        return '"same"', None
    return (None if not any(before) else pair(before)), None


def _pad_step(r: LayerReport, ctx: Context, unit: Unit, pads: tuple[int, ...], fill: str | None) -> str:
    name, d = ctx.extra("pad"), len(pads) // 2
    ctor = f"nn.ZeroPad{d}d({pads})" if fill is None else f"nn.ConstantPad{d}d({pads}, {fill})"
    line = f"line {r.layer.line}"
    if d != 2:
        unit.modules.append((name, ctor, f"{line}: padding=same of {ctx.attr}, last axis first"))
        sides = list(zip(pads[0::2], pads[1::2]))[::-1]  # (before, after) per axis, first axis first
        out = (*(n + b + a for n, (b, a) in zip(r.input[:-1], sides)), r.input[-1])
        unit.steps.append(ctx.step(f"self.{name}({ctx.input})", out, f"{line}: padding=same of {ctx.attr}"))
        return ctx.target
    left, right, top, bottom = pads
    unit.modules.append((name, ctor, f"{line}: padding=same of {ctx.attr}, (left, right, top, bottom)"))
    h, w, c = r.input
    where = f"padding=same of {ctx.attr}: {top} top, {bottom} bottom, {left} left, {right} right"
    unit.steps.append(ctx.step(f"self.{name}({ctx.input})", (h + top + bottom, w + left + right, c),
                               f"{line}: {where}"))
    return ctx.target  # the padded tensor is what the layer reads next


def _arguments(*pairs: tuple[str, str | None]) -> str:
    return ", ".join(f"{k}={v}" if k else v for k, v in pairs if v is not None)


def conv(r: LayerReport, ctx: Context) -> Unit:
    layer: ir.Conv = r.layer
    unit = Unit()
    padding, explicit = _padding(r, set(layer.stride) == {1})
    x = _pad_step(r, ctx, unit, explicit, None) if explicit else ctx.input
    args = _arguments(
        ("", str(r.in_channels)), ("", str(layer.filters)), ("kernel_size", pair(layer.kernel)),
        ("stride", None if set(layer.stride) == {1} else pair(layer.stride)), ("padding", padding),
        ("dilation", None if set(layer.dilation) == {1} else pair(layer.dilation)),
        ("groups", None if layer.groups == 1 else str(layer.groups)), ("bias", None if layer.bias else "False"))
    unit.modules.append((ctx.attr, f"nn.Conv{rank(r)}d({args})", _params(r)))
    expr = activate(layer.activation, layer.slope, f"self.{ctx.attr}({x})")
    unit.steps.append(ctx.step(expr, r.output))
    return unit


def pool(r: LayerReport, ctx: Context) -> Unit:
    layer: ir.Pool = r.layer
    unit = Unit()
    padding, explicit = _padding(r, False)
    if rank(r) != 2 and padding is not None:
        # MaxPool1d/3d and AvgPool1d/3d refuse an input smaller than the kernel even where the padding
        # makes up the difference; a pad module first, as for uneven `same`, does not.
        before, after = r.pads[0::2], r.pads[1::2]
        padding, explicit = None, tuple(p for b, a in reversed(list(zip(before, after))) for p in (b, a))
    # Max pooling pads with -inf (a padded pixel never wins); average pooling
    # counts padded zeros, as nn.AvgPool2d's count_include_pad=True does.
    fill = 'float("-inf")' if layer.op == "max" else None
    x = _pad_step(r, ctx, unit, explicit, fill) if explicit else ctx.input
    cls = f"nn.MaxPool{rank(r)}d" if layer.op == "max" else f"nn.AvgPool{rank(r)}d"
    args = _arguments(("kernel_size", pair(layer.kernel)), ("stride", pair(layer.stride)), ("padding", padding))
    unit.modules.append((ctx.attr, f"{cls}({args})", _params(r)))
    unit.steps.append(ctx.step(f"self.{ctx.attr}({x})", r.output))
    return unit


def global_pool(r: LayerReport, ctx: Context) -> Unit:
    cls = f"nn.AdaptiveMaxPool{rank(r)}d" if r.layer.op == "max" else f"nn.AdaptiveAvgPool{rank(r)}d"
    return _single(r, ctx, f"{cls}(1)")


def flatten(r: LayerReport, ctx: Context) -> Unit:
    return _single(r, ctx, "nn.Flatten()")


def dense(r: LayerReport, ctx: Context) -> Unit:
    layer: ir.Dense = r.layer
    unit = Unit()
    n_in, x = r.fan_in, ctx.input
    if len(r.input) >= 2:
        # NCHW flatten: channel-major order, unlike Keras' HWC.
        unit.steps.append(ctx.step(f"torch.flatten({x}, 1)", (n_in,), f"{ctx.note} (flatten first, channel-major)"))
        x = ctx.target
    args = _arguments(("", str(n_in)), ("", str(layer.units)), ("bias", None if layer.bias else "False"))
    unit.modules.append((ctx.attr, f"nn.Linear({args})", _params(r)))
    unit.steps.append(ctx.step(activate(layer.activation, layer.slope, f"self.{ctx.attr}({x})"), r.output))
    return unit


def activation(r: LayerReport, ctx: Context) -> Unit:
    layer: ir.Activation = r.layer
    return _single(r, ctx, FUNCTIONS[layer.function][1].format(slope=number(layer.slope)))


def batchnorm(r: LayerReport, ctx: Context) -> Unit:
    layer: ir.BatchNorm = r.layer
    cls = f"nn.BatchNorm{max(rank(r), 1)}d"
    args = _arguments(("", str(r.in_channels)), ("eps", None if layer.eps == 1e-5 else number(layer.eps)),
                      ("momentum", None if layer.momentum == 0.1 else number(layer.momentum)))
    return _single(r, ctx, f"{cls}({args})")


def dropout(r: LayerReport, ctx: Context) -> Unit:
    return _single(r, ctx, f"nn.Dropout({number(r.layer.rate)})")


def add(r: LayerReport, ctx: Context) -> Unit:
    return Unit([], [ctx.step(" + ".join(ctx.inputs), r.output)])


def concat(r: LayerReport, ctx: Context) -> Unit:
    return Unit([], [ctx.step(f"torch.cat([{', '.join(ctx.inputs)}], dim=1)", r.output)])


def multiply(r: LayerReport, ctx: Context) -> Unit:
    # A (N, C, 1, 1) gate broadcasts over every position of an (N, C, H, W) map.
    return Unit([], [ctx.step(" * ".join(ctx.inputs), r.output)])


def invalid(r: LayerReport, ctx: Context) -> Unit:
    raise ValueError(f"cannot generate code for the invalid layer {r.layer.name!r}: the spec has errors")


def _single(r: LayerReport, ctx: Context, ctor: str) -> Unit:
    return Unit([(ctx.attr, ctor, _params(r))], [ctx.step(f"self.{ctx.attr}({ctx.input})", r.output)])


def _params(r: LayerReport) -> str:
    text = f"line {r.layer.line}"
    if r.params:
        text += f", {r.params:,} parameters"
    if r.buffers:
        text += f" + {r.buffers:,} running statistics"
    return text
