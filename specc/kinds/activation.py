"""Activations: the one table of activation functions, and the kind of an activation
written on a line of its own (`relu`, `softmax`, ...). No torch.

FUNCTIONS says for each function how the generated code applies it, what its
backward keeps and what lint knows of it; every other list of activations (the
keywords, the `activation=` checker, memory, W302, W304, highlighting) is read
from it. An activation written on a conv or fc line (`conv 8 5 relu`) is applied
by that line's emitter through ``activate``.
"""

from __future__ import annotations

from typing import ClassVar

from ..analysis import LayerReport
from ..diagnostics import did_you_mean
from ..ir import Layer
from ..record import NamedTuple
from ..syntax import Word
from .base import Form, Kind
from .emitting import Context, Unit, number, single
from .geometry import identity
from .saved import Saved, keeps_input, size
from .values import ValueProblem, any_float


class Function(NamedTuple):
    """One activation function and what each pass knows of it."""

    name: str
    expression: str  # applied to `{x}` inside forward (`{slope}`: leaky_relu's)
    module: str  # the submodule of a line of its own (Abs: a class of the generated file, HELPERS)
    keeps_result: bool = False  # backward reads its output only, not its input (specc.infer.training_memory)
    non_negative: bool = False  # never negative: a relu after it changes nothing (W304)
    saturating: bool = False  # flat at both ends: gradients through it shrink (W302)
    aliases: tuple[str, ...] = ()  # other names for it, as keywords and as `activation=` values


FUNCTIONS = (
    Function("relu", "torch.relu({x})", "nn.ReLU()", keeps_result=True, non_negative=True),
    Function("sigmoid", "torch.sigmoid({x})", "nn.Sigmoid()", keeps_result=True, non_negative=True,
             saturating=True),
    Function("tanh", "torch.tanh({x})", "nn.Tanh()", keeps_result=True, saturating=True),
    Function("leaky_relu", "nn.functional.leaky_relu({x}, {slope})", "nn.LeakyReLU({slope})"),
    Function("softmax", "torch.softmax({x}, dim=1)", "nn.Softmax(dim=1)", keeps_result=True, non_negative=True),
    Function("linear", "{x}", "nn.Identity()"),
    Function("relu6", "nn.functional.relu6({x})", "nn.ReLU6()", non_negative=True),
    Function("silu", "nn.functional.silu({x})", "nn.SiLU()", aliases=("swish",)),
    Function("hardswish", "nn.functional.hardswish({x})", "nn.Hardswish()"),
    Function("gelu", "nn.functional.gelu({x})", "nn.GELU()"),
    Function("abs", "torch.abs({x})", "Abs()", non_negative=True),
    Function("hardsigmoid", "nn.functional.hardsigmoid({x})", "nn.Hardsigmoid()", non_negative=True,
             saturating=True),  # relu6(x + 3) / 6
)
BY_NAME = {f.name: f for f in FUNCTIONS}
NAMES = tuple(BY_NAME)
ALIASES = {alias: f.name for f in FUNCTIONS for alias in f.aliases}
KEEPS_RESULT = frozenset(f.name for f in FUNCTIONS if f.keeps_result)
NON_NEGATIVE = frozenset(f.name for f in FUNCTIONS if f.non_negative)
SATURATING = frozenset(f.name for f in FUNCTIONS if f.saturating)


class Activation(Layer):
    """An activation on its own line; ``function`` is one of FUNCTIONS."""

    receptive: ClassVar[str] = "pointwise"

    function: str
    slope: float = 0.01

    @property
    def activation_function(self) -> str | None:
        return self.function

    # Layer's class-level trait, never assigned; mypy cannot know that a read-only property may replace it.
    @property
    def linear(self) -> bool:  # type: ignore[override]  # `linear` on its own line is the identity
        return self.function == "linear"


def activation_name(word: Word, what: str) -> str:
    """The checker of `activation=` (and of a bare `relu` on a conv or fc line)."""
    if word.kind == "name" and word.value in BY_NAME:
        return str(word.value)
    if word.kind == "name" and word.value in ALIASES:
        return ALIASES[word.value]
    raise ValueProblem("E105", f"unknown activation `{word.text}`",
                       did_you_mean(word.text, NAMES) or f"one of: {', '.join(NAMES)}")


def activate(function: str | None, slope: float, expr: str) -> str:
    """``expr`` with ``function`` applied, as forward writes it."""
    if function is None:
        return expr
    return BY_NAME[function].expression.format(x=expr, slope=number(slope))


def emit(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Activation)  # EMITTERS dispatches on the layer's class
    return single(r, ctx, BY_NAME[layer.function].module.format(slope=number(layer.slope)))


def keep_function(r: LayerReport, saved: Saved, function: str | None) -> None:
    """What ``function`` applied to the layer's output keeps: that output, or its input
    (the pre-activation, a tensor of its own when the function is on a conv or fc line)."""
    if function in KEEPS_RESULT:
        saved.keep(r.layer.name, size(r.output))
    elif function not in (None, "linear"):
        saved.keep(f"{r.layer.name}/{function}", size(r.output))


def keeps(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """relu, sigmoid, tanh and softmax their result, the other activations their input."""
    layer = r.layer
    assert isinstance(layer, Activation)  # KINDS dispatches on the layer's class
    if layer.function in KEEPS_RESULT:
        saved.keep(layer.name, size(r.output))
    else:
        keeps_input(r, saved, reads, final)


def same_tensor(r: LayerReport, final: str | None) -> bool:
    """`linear` is the identity; the final softmax or sigmoid is not run in training (logits)."""
    layer = r.layer
    assert isinstance(layer, Activation)  # KINDS dispatches on the layer's class
    return layer.function == "linear" or final is not None


# Classes the generated file defines where torch has no module (specc.codegen writes those it uses).
HELPERS = {"Abs": '''class Abs(nn.Module):
    """The absolute value of each element (torch has no module for it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.abs(x)'''}

# `activation WORD`: the function named by a word, which may be a block's parameter (`activation act`).
STATEMENT = Form("activation", ("function",), ("function",), {"function": activation_name, "slope": any_float}, {},
                 "activation FUNCTION [slope=S], e.g. `activation relu` (in a block, `activation act`)", prefix="act")

KINDS = (
    Kind(Activation, family="activation", shape=identity, emit=emit, keeps=keeps, same_tensor=same_tensor,
         forms=(STATEMENT, *(Form("activation", options={"slope": any_float} if f.name == "leaky_relu" else {},
                                  usage=f.name, prefix=f.name, fixed={"function": f.name}, synonyms=f.aliases,
                                  keyword=f.name)
                             for f in FUNCTIONS))),
)
