"""Emitters of the later networks' kinds: transposed convolution, upsampling,
zero padding and the per-example norms. No torch import; specc.codegen.emit
holds the first kinds and the table EMITTERS.
"""

from __future__ import annotations

from .. import ir
from ..analysis import LayerReport
from ..shapes_kinds import transposed_same, zeropad_sides
from .emit import _arguments, _params, _single, activate, number, pair, rank
from .steps import Context, Unit


def _transposed_padding(layer: ir.ConvTranspose) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(padding, output_padding, crop) per axis; ``p=same`` as specc.shapes_kinds.transposed_same derives it."""
    if layer.padding != "same":
        return tuple(layer.padding), tuple(layer.output_padding), (0,) * len(layer.kernel)
    axes = [transposed_same(k, s, d) for k, s, d in zip(layer.kernel, layer.stride, layer.dilation)]
    return tuple(a[0] for a in axes), tuple(a[1] for a in axes), tuple(a[2] for a in axes)


def convtranspose(r: LayerReport, ctx: Context) -> Unit:
    layer: ir.ConvTranspose = r.layer
    padding, output_padding, crop = _transposed_padding(layer)
    unit, x = Unit(), ctx.input
    if any(crop):
        # Even kernel at stride 1: one row too many for symmetric padding. Keras drops the last; a zero
        # row before the input and one more row of padding does the same inside the module.
        padding = tuple(p + c for p, c in zip(padding, crop))
        pads = tuple(v for c in reversed(crop) for v in (c, 0))  # F.pad order: the last axis first
        name = ctx.extra("pad")
        unit.modules.append((name, f"nn.ZeroPad{rank(r)}d({pads})", f"line {layer.line}: padding=same of "
                             f"{ctx.attr}, a zero row before (last axis first)"))
        shape = (*(n + c for n, c in zip(r.input[:-1], crop)), r.input[-1])
        unit.steps.append(ctx.step(f"self.{name}({x})", shape, f"line {layer.line}: padding=same of {ctx.attr}"))
        x = ctx.target
    args = _arguments(
        ("", str(r.in_channels)), ("", str(layer.filters)), ("kernel_size", pair(layer.kernel)),
        ("stride", None if set(layer.stride) == {1} else pair(layer.stride)),
        ("padding", None if not any(padding) else pair(padding)),
        ("output_padding", None if not any(output_padding) else pair(output_padding)),
        ("groups", None if layer.groups == 1 else str(layer.groups)), ("bias", None if layer.bias else "False"),
        ("dilation", None if set(layer.dilation) == {1} else pair(layer.dilation)))
    note = _params(r)
    if layer.padding == "same":
        note += ": padding=same, out = in x stride"
    expr = f"self.{ctx.attr}({x})"
    unit.modules.append((ctx.attr, f"nn.ConvTranspose{rank(r)}d({args})", note))
    unit.steps.append(ctx.step(activate(layer.activation, layer.slope, expr), r.output))
    return unit


MODES = {"nearest": ("nearest",) * 3, "bilinear": ("linear", "bilinear", "trilinear")}


def upsample(r: LayerReport, ctx: Context) -> Unit:
    layer: ir.Upsample = r.layer
    mode = MODES[layer.mode][rank(r) - 1]
    return _single(r, ctx, f'nn.Upsample(scale_factor={pair(layer.factor)}, mode="{mode}")')


def zeropad(r: LayerReport, ctx: Context) -> Unit:
    sides = zeropad_sides(r.layer)
    torch_order = tuple(p for i in reversed(range(len(sides) // 2)) for p in sides[2 * i:2 * i + 2])
    return _single(r, ctx, f"nn.ZeroPad{rank(r)}d({torch_order})")


def norm(r: LayerReport, ctx: Context) -> Unit:
    layer: ir.Norm = r.layer
    c, volume = r.in_channels, len(r.input) >= 2
    eps = ("eps", None if layer.eps == 1e-5 else number(layer.eps))
    channels = ("", str(c))
    if layer.op == "layer" and not volume:
        args = _arguments(channels, eps, ("elementwise_affine", None if layer.affine else "False"))
        return _single(r, ctx, f"nn.LayerNorm({args})")
    if layer.op == "instance":  # nn.InstanceNorm learns no scale and shift unless asked
        args = _arguments(channels, eps, ("affine", "True" if layer.affine else None))
        return _single(r, ctx, f"nn.InstanceNorm{rank(r)}d({args})")
    # groupnorm; layernorm on a volume normalises over C, H and W together: GroupNorm(1, C)
    groups = ("", str(layer.groups if layer.op == "group" else 1))
    args = _arguments(groups, channels, eps, ("affine", None if layer.affine else "False"))
    return _single(r, ctx, f"nn.GroupNorm({args})")
