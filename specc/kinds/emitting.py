"""What an emitter is told and what it gives, and the helpers emitters share. No torch.

An emitter turns one layer's report into the submodules it needs and its lines of
``forward``, each with the shape after it (a Unit of Steps). It reads its input
tensors through the expressions its Context gives (``ctx.input``) and writes to
``ctx.target``, so the same emitter serves a chain (`x = self.conv1(x)`) and a kept
branch. Shapes and padding come from the check report (``LayerReport.pads``), with
one exception: a convtranspose's (padding, output_padding, crop), which the report
does not hold, are on its layer as its shape rule resolved them (``resolved_padding``).
Emitters are plain string functions, which specc check loads with their kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..analysis import LayerReport
from ..ir import Pair, Shape
from ..record import NamedTuple
from .geometry import is_known

if TYPE_CHECKING:
    from .geometry import Window


class Step(NamedTuple):
    """One line of forward: ``target = expr``, the shape after it, and where it comes from;
    ``call`` is (callee, argument) where ``expr`` is one submodule called on one tensor,
    ``self.softmax(x)`` as ("self.softmax", "x"), so that codegen can call it on another."""

    target: str
    expr: str
    shape: Shape
    note: str
    call: tuple[str, str] | None = None


class Unit(NamedTuple):
    """What one spec line contributes: submodules (name, constructor, comment) and forward steps.
    Its lists are filled as the emitter goes: make one with ``Unit([], [])``."""

    modules: list[tuple[str, str, str]]
    steps: list[Step]


class Context(NamedTuple):
    """What an emitter needs for one layer: its attribute, the expressions of its inputs,
    the variable its output goes to, the spec line it comes from, and how a helper
    module beside it is named (specc.codegen.names.extra_name, unique in the class)."""

    attr: str
    note: str
    extra_name: Callable[[str, str], str]  # (attribute, suffix) -> an unused attribute name
    inputs: tuple[str, ...] = ("x",)
    target: str = "x"

    @property
    def input(self) -> str:
        """The expression of the layer's (first) input tensor."""
        return self.inputs[0]

    def extra(self, suffix: str) -> str:
        return self.extra_name(self.attr, suffix)

    def step(self, expr: str, shape: Shape | None, note: str | None = None) -> Step:
        return Step(self.target, expr, known(shape), self.note if note is None else note)

    def call(self, shape: Shape | None) -> Step:
        """The layer's submodule called on its input: ``self.conv1(x)``."""
        callee = f"self.{self.attr}"
        return Step(self.target, f"{callee}({self.input})", known(shape), self.note, (callee, self.input))


def known(shape: Shape | None) -> tuple[int, ...]:
    """A shape of the analysis codegen reads: one without errors, where every dimension is known."""
    if not is_known(shape):
        raise ValueError(f"code is generated only from an analysis without errors, not for shape {shape}")
    return shape


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
    return len(known(r.input)) - 1


def arguments(*pairs: tuple[str, str | None]) -> str:
    """A constructor's arguments: ("", v) is positional, (k, v) a keyword, (k, None) left out."""
    return ", ".join(f"{k}={v}" if k else v for k, v in pairs if v is not None)


def params_note(r: LayerReport) -> str:
    """The comment beside a submodule: its line, parameters and running statistics."""
    text = f"line {r.layer.line}"
    if r.params:
        text += f", {r.params:,} parameters"
    if r.buffers:
        text += f" + {r.buffers:,} running statistics"
    return text


def single(r: LayerReport, ctx: Context, ctor: str) -> Unit:
    """A layer that is one submodule called on its input."""
    return Unit([(ctx.attr, ctor, params_note(r))], [ctx.call(r.output)])


def padding_argument(layer: Window, r: LayerReport,
                     stride_one_same: bool) -> tuple[str | None, tuple[int, ...] | None]:
    """A window's own ``padding=`` argument, or the (left, right, top, bottom) a pad module must add.

    Symmetric padding goes into the layer; `padding=same` that needs one more
    pixel bottom/right (even kernels, strides > 1) cannot, so it is explicit.
    """
    if layer.padding != "same":
        return (None if not any(layer.padding) else pair(layer.padding)), None
    pads = pads_of(r)
    before, after = pads[0::2], pads[1::2]
    if before != after:
        # F.pad order: the last axis first, (left, right, top, bottom) on a 2-D map.
        return None, tuple(p for b, a in reversed(list(zip(before, after))) for p in (b, a))
    if stride_one_same:
        return '"same"', None
    return (None if not any(before) else pair(before)), None


def pads_of(r: LayerReport) -> tuple[int, ...]:
    """A window's resolved padding, unknown only where an input dimension is (never in codegen)."""
    if r.pads is None:
        raise ValueError(f"code is generated only from an analysis without errors, not for {r.layer.name}")
    return r.pads


def pad_step(r: LayerReport, ctx: Context, unit: Unit, pads: tuple[int, ...], fill: str | None) -> str:
    """A pad module before the layer (uneven `padding=same`); the expression the layer then reads."""
    name, d = ctx.extra("pad"), len(pads) // 2
    ctor = f"nn.ZeroPad{d}d({pads})" if fill is None else f"nn.ConstantPad{d}d({pads}, {fill})"
    line = f"line {r.layer.line}"
    if d != 2:
        unit.modules.append((name, ctor, f"{line}: padding=same of {ctx.attr}, last axis first"))
        sides = list(zip(pads[0::2], pads[1::2]))[::-1]  # (before, after) per axis, first axis first
        shape = known(r.input)
        out = (*(n + b + a for n, (b, a) in zip(shape[:-1], sides)), shape[-1])
        unit.steps.append(ctx.step(f"self.{name}({ctx.input})", out, f"{line}: padding=same of {ctx.attr}"))
        return ctx.target
    left, right, top, bottom = pads
    unit.modules.append((name, ctor, f"{line}: padding=same of {ctx.attr}, (left, right, top, bottom)"))
    h, w, c = known(r.input)
    where = f"padding=same of {ctx.attr}: {top} top, {bottom} bottom, {left} left, {right} right"
    unit.steps.append(ctx.step(f"self.{name}({ctx.input})", (h + top + bottom, w + left + right, c),
                               f"{line}: {where}"))
    return ctx.target  # the padded tensor is what the layer reads next
