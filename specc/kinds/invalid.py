"""A layer whose required arguments were wrong: kept, with an unknown output, so that
later layers are still checked and the report lists every written line. No keyword
writes it; lowering and shape inference make it. No torch."""

from __future__ import annotations

from typing import ClassVar

from ..analysis import LayerReport
from ..ir import Layer, Shape
from .base import Kind
from .emitting import Context, Unit
from .geometry import Result
from .saved import keeps_nothing

FAMILY = "invalid"


class Invalid(Layer):
    """A layer whose required arguments were wrong; its output shape is unknown.

    Kept so that later layers are still checked (their input is unknown, not
    missing) and so the report lists every written line.
    """

    receptive: ClassVar[str] = "none"  # unknown: later receptive fields are not reported

    filters: int | None = None
    units: int | None = None


def shape(layer: Invalid, *shapes: Shape | None) -> Result:
    """What its line said for sure: fc's units, conv's filters."""
    if layer.units is not None:
        return Result((layer.units,), None, 0, None)
    if layer.filters is not None:
        return Result((None, None, layer.filters), None, 0, None)
    return Result(None, None, 0, None)


def emit(r: LayerReport, ctx: Context) -> Unit:
    raise ValueError(f"cannot generate code for the invalid layer {r.layer.name!r}: the spec has errors")


def of(layer: Layer, filters: int | None = None, units: int | None = None) -> Invalid:
    """``layer`` as Invalid: its name, place and edges kept, its output unknown."""
    return Invalid(kind=layer.kind, name=layer.name, labelled=layer.labelled, span=layer.span, inputs=layer.inputs,
                   block=layer.block, notes=layer.notes, spans=layer.spans, filters=filters, units=units)


KINDS = (Kind(Invalid, family=FAMILY, shape=shape, emit=emit, keeps=keeps_nothing, forms=()),)
