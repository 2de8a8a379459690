"""A layer fitted to the rank of its input, before its shape rule runs. No torch.

A kernel, stride, padding, dilation or factor written as one number (ir.Uniform)
means the same on every axis, so it widens to the input's rank: `conv 16 5`
is Conv1d on a 14x1 signal and Conv3d on a 14x14x14x1 volume. One written
per axis (`5x5`) must match the rank, else E207 names both. A depthwise conv
learns its filters and groups from the input's channels here.
"""

from __future__ import annotations

import functools

from .. import ir
from ..diagnostics import Diagnostic, error
from ..kinds import DepthwiseConv, ZeroPad, invalid
from ..kinds.geometry import RANKS
from ..numbers import dims

WINDOW_FIELDS = ("kernel", "stride", "padding", "dilation", "output_padding", "factor", "out")


@functools.cache
def window_fields(kind: type[ir.Layer]) -> tuple[str, ...]:
    """The WINDOW_FIELDS a layer class has (none for most kinds)."""
    return tuple(name for name in WINDOW_FIELDS if name in kind._fields)


def fit(layer: ir.Layer, shape: ir.Shape | None) -> tuple[ir.Layer, tuple[Diagnostic, ...]]:
    """The layer with its window values at the input's rank; Invalid (and E207) when one cannot be."""
    rank = ir.rank_of(shape)
    if not rank:
        return layer, ()
    changes: dict[str, object] = {}
    for name in window_fields(type(layer)):
        value = getattr(layer, name)
        if not isinstance(value, tuple) or len(value) == rank:
            continue
        if isinstance(value, ir.Uniform):
            changes[name] = ir.Uniform.of(value[0], rank)
            continue
        what = "padding" if isinstance(layer, ZeroPad) else name
        message = (f"{what} {dims(value)} is {RANKS.get(len(value), f'{len(value)}-D')} but its input is "
                   f"{RANKS.get(rank, f'{rank}-D')} ({dims(shape)})")
        hint = f"write one number per axis of the input ({rank}), or one number for all"
        found = error("E207", message, layer.span_of(name), hint)
        return invalid.of(layer, filters=getattr(layer, "filters", None)), (found,)
    assert shape is not None  # rank_of gave a rank
    if isinstance(layer, DepthwiseConv) and shape[-1] is not None:
        changes.update(filters=shape[-1] * layer.multiplier, groups=shape[-1])
    return (layer._replace(**changes) if changes else layer), ()

