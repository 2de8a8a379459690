"""Fully connected layers: `fc` (alias `dense`), `flatten`, and `reshape D1xD2x…` (Keras' Reshape).
Their IR, forms, shape rules, emitters and what their backward keeps. No torch.
"""

from __future__ import annotations

import math
from typing import ClassVar

from ..analysis import LayerReport
from ..diagnostics import error
from ..ir import Layer, Shape
from ..numbers import dims
from .activation import activate, activation_name, keep_function
from .base import Form, Kind
from .emitting import Context, Unit, arguments, params_note, rank, single
from .geometry import Result, size_of
from .saved import Saved, always, keep_input, keeps_nothing
from .values import any_float, boolean, count, reshape_dims

FAMILY = "dense"


class Flatten(Layer):
    """``flatten``: a volume to a vector, in PyTorch's channel-first order."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True


class Reshape(Layer):
    """``reshape D1xD2x…``: the same values in another shape, taken in the spec's channels-last order
    (Keras' Reshape): 19x19x425 -> 19x19x5x85 splits each position's 425 channels into 5 x 85."""

    receptive: ClassVar[str] = "none"  # positions change meaning: later receptive fields are not reported
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    dims: tuple[int, ...]


class Dense(Layer):
    """``fc N`` (alias ``dense N``); a volume before it is flattened."""

    receptive: ClassVar[str] = "whole"
    weighted: ClassVar[bool] = True

    units: int
    bias: bool = True
    activation: str | None = None
    slope: float = 0.01

    @property
    def activation_function(self) -> str | None:
        return self.activation


_FC_OPTIONS = {"units": count, "bias": boolean, "activation": activation_name, "slope": any_float}


def flatten(layer: Flatten, shape: Shape | None) -> Result:
    if shape is None:
        return Result(None)
    return Result((size_of(shape),))


def reshape(layer: Reshape, shape: Shape | None) -> Result:
    values, target = size_of(shape), math.prod(layer.dims)
    if values is None or values == target:
        return Result(layer.dims)
    message = (f"`reshape {dims(layer.dims)}` holds {target:,} values, but its input {dims(shape)} has {values:,}")
    return Result(None, 0, 0, 0, diagnostics=(error("E210", message, layer.span_of("dims"),
                                                     "the product of the dimensions must equal the input's"),))


def dense(layer: Dense, shape: Shape | None) -> Result:
    n_in = size_of(shape)
    if n_in is None:
        return Result((layer.units,), None, 0, None)
    return Result((layer.units,), (n_in + layer.bias) * layer.units, 0, n_in * layer.units, n_in)


def emit_flatten(r: LayerReport, ctx: Context) -> Unit:
    return single(r, ctx, "nn.Flatten()")


def emit_reshape(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Reshape)  # EMITTERS dispatches on the layer's class
    return single(r, ctx, f"Reshape({', '.join(map(str, layer.dims))})")


# The generated file's class for `reshape` (specc.codegen writes it where a spec uses it).
HELPERS = {"Reshape": '''class Reshape(nn.Module):
    """Keras' Reshape: the values taken in channels-last order (the spec's), reshaped to
    (N, *shape) with the channels last, and the channels moved back to dim 1 (PyTorch's)."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.movedim(1, -1)  # channels last
        x = x.reshape(-1, *self.shape)  # in the spec's (and Keras') order
        return x.movedim(-1, 1)  # channels first again'''}


def emit_dense(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Dense)  # EMITTERS dispatches on the layer's class
    unit = Unit([], [])
    n_in, x = r.fan_in, ctx.input
    if rank(r) >= 1:
        # NCHW flatten: channel-major order, unlike Keras' HWC.
        unit.steps.append(ctx.step(f"torch.flatten({x}, 1)", (n_in,), f"{ctx.note} (flatten first, channel-major)"))
        x = ctx.target
    args = arguments(("", str(n_in)), ("", str(layer.units)), ("bias", None if layer.bias else "False"))
    unit.modules.append((ctx.attr, f"nn.Linear({args})", params_note(r)))
    unit.steps.append(ctx.step(activate(layer.activation, layer.slope, f"self.{ctx.attr}({x})"), r.output))
    return unit


def reshape_view(r: LayerReport, final: str | None) -> bool:
    """A vector's reshape is a view of it (the generated moves of the channel axis change nothing in
    two dimensions), so what a later layer keeps of it is the vector's tensor; a map's is a copy."""
    return r.input is not None and len(r.input) == 1


def keeps_dense(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """The input for the weights' gradient, then what its activation keeps."""
    layer = r.layer
    assert isinstance(layer, Dense)  # KINDS dispatches on the layer's class
    keep_input(r, saved, reads)
    keep_function(r, saved, None if final else layer.activation)


KINDS = (
    Kind(Flatten, family=FAMILY, shape=flatten, emit=emit_flatten, keeps=keeps_nothing, same_tensor=always,
         forms=(Form("flatten", usage="flatten"),)),
    Kind(Reshape, family=FAMILY, shape=reshape, emit=emit_reshape, keeps=keeps_nothing, same_tensor=reshape_view,
         forms=(
        Form("reshape", ("dims",), ("dims",), {"dims": reshape_dims}, {},
             "reshape D1xD2x… (channels last), e.g. `reshape 19x19x5x85`"),)),
    Kind(Dense, family=FAMILY, shape=dense, emit=emit_dense, keeps=keeps_dense, forms=(
        Form("fc", ("units",), ("units",), _FC_OPTIONS, {}, "fc UNITS [ACTIVATION], e.g. `fc 10 softmax`", True,
             synonyms=("dense",)),)),
)
