"""Resizing a map without learning anything: `upsample S` and `zeropad P`. Their IR, forms,
shape rules, emitters and what their backward keeps (nothing: only shapes). No torch.
"""

from __future__ import annotations

from typing import ClassVar

from ..analysis import LayerReport
from ..diagnostics import error
from ..ir import Layer, Pair, Shape
from ..numbers import dims
from .base import Form, Kind
from .emitting import Context, Unit, pads_of, pair, rank, single
from .geometry import Result, not_a_volume
from .saved import keeps_nothing
from .values import choice, padding_pair, positive_pair, seed

FAMILY = "resize"
SIDES = ("top", "bottom", "left", "right")


class Upsample(Layer):
    """``upsample S``: each axis S times longer, ``mode`` nearest or bilinear (linear in 1-D, trilinear in 3-D)."""

    receptive: ClassVar[str] = "upsample"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    factor: Pair
    mode: str = "nearest"


class ZeroPad(Layer):
    """``zeropad P``: zeros around the map, ``padding`` per axis on both sides,
    ``top``/``bottom``/``left``/``right`` overriding one side of a 2-D map."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    padding: Pair
    top: int | None = None
    bottom: int | None = None
    left: int | None = None
    right: int | None = None


_PAD_OPTIONS = {"padding": padding_pair, "top": seed, "bottom": seed, "left": seed, "right": seed}


def upsample(layer: Upsample, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return not_a_volume(layer, shape)
    out = tuple(None if n is None else n * f for n, f in zip(shape[:-1], layer.factor))
    return Result((*out, shape[-1]), in_channels=shape[-1])


def zeropad_sides(layer: ZeroPad) -> tuple[int, ...]:
    """(before, after) per axis: (top, bottom, left, right) on a 2-D map."""
    sides = [p for p in layer.padding for _ in (0, 1)]
    if len(layer.padding) == 2:
        for i, side in enumerate(SIDES):
            value = getattr(layer, side)
            sides[i] = sides[i] if value is None else value
    return tuple(sides)


def zeropad(layer: ZeroPad, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    if len(shape) < 2:
        return not_a_volume(layer, shape)
    sides = [getattr(layer, s) for s in SIDES]
    if len(layer.padding) != 2 and any(v is not None for v in sides):
        side = next(s for s, v in zip(SIDES, sides) if v is not None)
        message = f"`{side}` names a side of a 2-D map, but the input is {dims(shape)}"
        return Result(None, 0, 0, 0, diagnostics=(error("E105", message, layer.span_of(side),
                                                         "write the padding per axis, e.g. `zeropad 2`"),))
    pads = zeropad_sides(layer)
    out = tuple(None if n is None else n + pads[2 * i] + pads[2 * i + 1] for i, n in enumerate(shape[:-1]))
    return Result((*out, shape[-1]), in_channels=shape[-1], pads=pads)


MODES = {"nearest": ("nearest",) * 3, "bilinear": ("linear", "bilinear", "trilinear")}


def emit_upsample(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Upsample)  # EMITTERS dispatches on the layer's class
    mode = MODES[layer.mode][rank(r) - 1]
    return single(r, ctx, f'nn.Upsample(scale_factor={pair(layer.factor)}, mode="{mode}")')


def emit_zeropad(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, ZeroPad)  # EMITTERS dispatches on the layer's class
    sides = pads_of(r)  # the sides its shape rule resolved
    torch_order = tuple(p for i in reversed(range(len(sides) // 2)) for p in sides[2 * i:2 * i + 2])
    return single(r, ctx, f"nn.ZeroPad{rank(r)}d({torch_order})")


KINDS = (
    Kind(Upsample, family=FAMILY, shape=upsample, emit=emit_upsample, keeps=keeps_nothing, forms=(
        Form("upsample", ("factor",), ("factor",), {"factor": positive_pair, "mode": choice("nearest", "bilinear")},
             {}, "upsample FACTOR [mode=nearest|bilinear], e.g. `upsample 2`", prefix="up"),)),
    Kind(ZeroPad, family=FAMILY, shape=zeropad, emit=emit_zeropad, keeps=keeps_nothing, forms=(
        Form("zeropad", ("padding",), ("padding",), _PAD_OPTIONS, {"p": "padding"},
             "zeropad P (3 or 1x2: rows x columns, both sides) [top=T] [bottom=B] [left=L] [right=R], "
             "e.g. `zeropad 3`", prefix="pad"),)),
)
