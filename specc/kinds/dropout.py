"""Dropout: `dropout P`. Its IR, form, shape rule, emitter and what its backward keeps. No torch."""

from __future__ import annotations

from typing import ClassVar

from ..analysis import LayerReport
from ..ir import Layer
from .base import Form, Kind
from .emitting import Context, Unit, number, single
from .geometry import identity
from .saved import Saved, size
from .values import rate

FAMILY = "dropout"


class Dropout(Layer):
    """``dropout P``: zeroes each value with probability ``rate`` while training; the identity at inference."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    rate: float


def emit(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Dropout)  # EMITTERS dispatches on the layer's class
    return single(r, ctx, f"nn.Dropout({number(layer.rate)})")


def keeps(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Its mask (fp32, as on the CPU; CUDA's fused kernel keeps one byte), scaled; not its input."""
    saved.keep(f"{r.layer.name}/mask", size(r.output))


def same_tensor(layer: Dropout, final: str | None) -> bool:
    """`dropout 0` hands its input on."""
    return layer.rate == 0


KINDS = (
    Kind(Dropout, family=FAMILY, shape=identity, emit=emit, keeps=keeps, same_tensor=same_tensor, forms=(
        Form("dropout", ("rate",), ("rate",), {"rate": rate}, {}, "dropout RATE, e.g. `dropout 0.5`"),)),
)
