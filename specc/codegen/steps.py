"""What emitters produce: forward lines (Step, or a Remark in place of a layer
that is not computed), a layer's share of the module (Unit), what an emitter
is told about its layer (Context), and a scope's whole share of its class
(Code). No torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Shape
from .names import extra_name


@dataclass(frozen=True)
class Step:
    """One line of forward: ``target = expr``, the shape after it, and where it comes from."""

    target: str
    expr: str
    shape: Shape
    note: str


@dataclass(frozen=True)
class Remark:
    """Lines of forward that are only comments: where a layer is built but not computed."""

    text: str  # why it is not computed
    note: str  # the spec line it comes from


@dataclass
class Code:
    """A scope's share of its class: submodules (attribute, constructor, comment) and forward."""

    modules: list[tuple[str, str, str]] = field(default_factory=list)
    steps: list[Step | Remark] = field(default_factory=list)
    kept_entry: str | None = None  # the variable the input is kept in, when read again later
    params: list[str] = field(default_factory=list)  # the variables of the inputs after the first
    result: str = "x"
    exports: list[str] = field(default_factory=list)  # the variables returned beside the result


@dataclass
class Unit:
    """What one spec line contributes: submodules (name, constructor, comment) and forward steps."""

    modules: list[tuple[str, str, str]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


@dataclass
class Context:
    """What an emitter needs for one layer: its attribute, the expressions of its
    inputs, the variable its output goes to, and the spec line it comes from."""

    attr: str
    note: str
    taken: set[str]
    inputs: tuple[str, ...] = ("x",)
    target: str = "x"

    @property
    def input(self) -> str:
        """The expression of the layer's (first) input tensor."""
        return self.inputs[0]

    def extra(self, suffix: str) -> str:
        return extra_name(self.attr, suffix, self.taken)

    def step(self, expr: str, shape: Shape, note: str | None = None) -> Step:
        return Step(self.target, expr, shape, self.note if note is None else note)
