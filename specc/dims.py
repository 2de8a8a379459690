"""Values computed from shapes: `REF.c`, `REF.h`, `REF.w` and integer `*` and exact `/`.

``resolve(layer, shape_of)`` replaces a layer's Deferred fields with the
values their words give, checked by each option's own checker, so a computed
`filters=0` is the same E106 as a written one. No torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from . import ir
from .diagnostics import Diagnostic, error
from .syntax import Word
from .values import ValueProblem

AXES = {"h": 0, "w": 1, "c": -1}


class Unknown(Exception):
    """A shape an earlier error left unknown: the value is unknown too, and not reported again."""


def evaluate(word: Word, shape_of: Callable[[str], ir.Shape | None]) -> int:
    if word.kind == "int":
        return word.value
    if word.kind == "dim":
        name, axis = word.value
        shape = shape_of(name)
        if shape is None or None in shape:
            raise Unknown
        if len(shape) < 3 and axis != "c":
            what = f"a vector of {shape[0]}" if len(shape) == 1 else f"a 1-D signal of length {shape[0]}"
            raise ValueProblem("E105", f"`{word.text}`: {name} is {what}, it has no {axis}",
                               f"use `{'.'.join((*word.text.split('.')[:-1], 'c'))}` for its "
                               + ("size" if len(shape) == 1 else "channels"))
        return shape[AXES[axis] + (len(shape) == 4 and axis != "c")]  # (D, H, W, C): h and w after depth
    if word.kind == "expr":
        left, right = evaluate(word.value.left, shape_of), evaluate(word.value.right, shape_of)
        if word.value.op == "*":
            return left * right
        if right == 0 or left % right:
            raise ValueProblem("E114", f"`{word.text}` is {left}/{right}, not a whole number",
                               "`/` must divide exactly: change the numbers, or the layers they come from")
        return left // right
    if word.kind == "unknown":
        raise Unknown
    raise ValueProblem("E105", f"`{word.text}` is not a whole number: an expression takes numbers, "
                               f"parameters and REF.c, REF.h, REF.w")


def references(layer: ir.Layer) -> Iterator[str]:
    """The layers whose shapes the layer's Deferred values read (`conv1` of `conv1.h*2`)."""
    for name in layer._fields:
        value = getattr(layer, name)
        if isinstance(value, ir.Deferred):
            yield from _named(value.word)


def _named(word: Word) -> Iterator[str]:
    if word.kind == "dim":
        yield word.value[0]
    elif word.kind == "expr":
        yield from _named(word.value.left)
        yield from _named(word.value.right)


def resolve(layer: ir.Layer, shape_of: Callable[[str], ir.Shape | None]
            ) -> tuple[ir.Layer, list[Diagnostic], bool]:
    """The layer with its values computed; the diagnostics; whether every value was found."""
    changes, problems, complete = {}, [], True
    for name in layer._fields:
        value = getattr(layer, name)
        if not isinstance(value, ir.Deferred):
            continue
        try:
            number = evaluate(value.word, shape_of)
            changes[name] = value.check(Word(number, value.word.text, "int", value.word.span), value.what)
        except Unknown:
            complete = False
        except ValueProblem as problem:
            complete = False
            problems.append(error(problem.code, problem.message, value.word.span, problem.help))
    return layer._replace(**changes), problems, complete
