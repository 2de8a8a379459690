"""Fully connected layers: `fc` (alias `dense`) and `flatten`. Their IR, forms, shape
rules, emitters and what their backward keeps. No torch.
"""

from __future__ import annotations

from typing import ClassVar

from ..analysis import LayerReport
from ..ir import Layer, Shape
from .activation import activate, activation_name, keep_function
from .base import Form, Kind
from .emitting import Context, Unit, arguments, params_note, rank, single
from .geometry import Result, size_of
from .saved import Saved, always, keep_input, keeps_nothing
from .values import any_float, boolean, count

FAMILY = "dense"


class Flatten(Layer):
    """``flatten``: a volume to a vector, in PyTorch's channel-first order."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True


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


def dense(layer: Dense, shape: Shape | None) -> Result:
    n_in = size_of(shape)
    if n_in is None:
        return Result((layer.units,), None, 0, None)
    return Result((layer.units,), (n_in + layer.bias) * layer.units, 0, n_in * layer.units, n_in)


def emit_flatten(r: LayerReport, ctx: Context) -> Unit:
    return single(r, ctx, "nn.Flatten()")


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


def keeps_dense(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """The input for the weights' gradient, then what its activation keeps."""
    layer = r.layer
    assert isinstance(layer, Dense)  # KINDS dispatches on the layer's class
    keep_input(r, saved, reads)
    keep_function(r, saved, None if final else layer.activation)


KINDS = (
    Kind(Flatten, family=FAMILY, shape=flatten, emit=emit_flatten, keeps=keeps_nothing, same_tensor=always,
         forms=(Form("flatten", usage="flatten"),)),
    Kind(Dense, family=FAMILY, shape=dense, emit=emit_dense, keeps=keeps_dense, forms=(
        Form("fc", ("units",), ("units",), _FC_OPTIONS, {}, "fc UNITS [ACTIVATION], e.g. `fc 10 softmax`", True,
             synonyms=("dense",)),)),
)
