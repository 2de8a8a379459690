"""`share=REF` checked where shapes are known: a layer that shares REF's parameters must be of
REF's kind with REF's arguments (those computed from shapes included) and read an input of the
same shape; else E123 at the sharing line, naming REF's line and the first difference, once per
sharing line or call. A layer that shares counts no parameters or buffers of its own: they are
REF's (contract part 3, §3). Pure Python, no torch.
"""

from __future__ import annotations

from .. import ir
from ..diagnostics import Diagnostic, error
from ..ir import Shape
from ..numbers import dims

_COMMON = frozenset(ir.Layer._fields)  # what every layer has (name, span, inputs, ...): not an argument


class Owners:
    """The layers others share, as infer met them (each with its input shapes), and the sharing
    lines already told of a mismatch."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.seen: dict[str, tuple[ir.Layer, tuple[Shape | None, ...]]] = {}
        self.told: set[ir.Sharing] = set()  # by the option's span: one E123 for a call's instance

    def met(self, layer: ir.Layer, shapes: tuple[Shape | None, ...]) -> None:
        if layer.name in self.names:
            self.seen[layer.name] = layer, shapes

    def check(self, layer: ir.Layer, shapes: tuple[Shape | None, ...]) -> tuple[bool, list[Diagnostic]]:
        """Whether ``layer`` (which has ``shares``) uses its owner's parameters, and E123 where it
        cannot. An owner infer could not make (an error of its own) is not compared."""
        sharing = layer.shares
        assert sharing is not None  # only a layer with `share=` is checked
        found = self.seen.get(sharing.owner)
        if found is None or type(layer).__name__ == "Invalid" or type(found[0]).__name__ == "Invalid":
            return False, []
        owner, theirs = found
        if any(shape is None or None in shape for shape in (*shapes, *theirs)):
            return False, []  # an error upstream left a shape unknown: reported there
        what = first_difference(layer, owner)
        if what is None and shapes != theirs:
            what = f"input {_shapes(shapes)} here, {_shapes(theirs)} at {owner.name}"
        if what is None:
            return True, []
        told = sharing._replace(owner="")
        if told in self.told:
            return False, []
        self.told.add(told)
        where = "" if sharing.span.line == layer.line else f"{layer.name}: "
        notes = layer.notes if sharing.span.line == layer.line else ()
        return False, [error("E123", f"cannot share `{sharing.ref}` (line {sharing.ref_line}): {where}{what}",
                             sharing.span, "shared weights need the same kind and arguments, and an input of the "
                             "same shape")._replace(notes=notes)]


def first_difference(layer: ir.Layer, owner: ir.Layer) -> str | None:
    """How ``layer``'s kind or arguments differ from ``owner``'s, or None: the fields of their
    classes, less those every layer has."""
    if type(layer) is not type(owner) or layer.kind_text != owner.kind_text:
        return f"`{layer.kind_text}` here, `{owner.kind_text}` at {owner.name}"
    for field in type(layer)._fields:
        if field not in _COMMON and getattr(layer, field) != getattr(owner, field):
            return f"{field} {_shown(getattr(layer, field))} here, {_shown(getattr(owner, field))} at {owner.name}"
    return None


def _shown(value: object) -> str:
    if isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
        return dims(value)
    return str(value)


def _shapes(shapes: tuple[Shape | None, ...]) -> str:
    return ", ".join(dims(s) for s in shapes)
