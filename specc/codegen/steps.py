"""What a scope of the generated file is made of: its share of the class (Code) and
the Remark forward writes in place of a layer that is not computed. A layer's own
lines (Step), its share of the module (Unit) and what its emitter is told (Context)
are specc.kinds.emitting's, which the check path loads with the kinds. No torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kinds.emitting import Step


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
    # the variables of the inputs after the first; of every input, for a network of several inputs
    params: list[str] = field(default_factory=list)
    result: str = "x"
    exports: list[str] = field(default_factory=list)  # the variables returned beside the result
