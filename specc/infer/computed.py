"""Values computed from shapes: `REF.c`, `REF.h`, `REF.w` and integer `+`, `-`, `*`, exact `/`, floor `//`.

Every step of a computation stays within MAX_INT, the bound of written numbers:
a product past it is E209, so no figure after it grows without end.

``resolve(layer, shape_of)`` replaces a layer's Deferred fields with the
values their words give, checked by each option's own checker (looked up in
specc.kinds' statement table), so a computed
`filters=0` is the same E106 as a written one. No torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import cast

from .. import ir
from ..diagnostics import Diagnostic, error
from ..kinds import STATEMENTS
from ..kinds.geometry import is_known
from ..kinds.values import MAX_INT, ValueProblem
from ..syntax import Expr, Word

AXES = {"h": 0, "w": 1, "c": -1}
TOO_LARGE_HELP = "sizes past 2,147,483,647 are certainly a mistake: check the factors, strides and repeats that grow it"


class Unknown(Exception):
    """A shape an earlier error left unknown: the value is unknown too, and not reported again."""


def evaluate(word: Word, shape_of: Callable[[str], ir.Shape | None]) -> int:
    """The whole number a value word gives, every step at most MAX_INT (E209 past it).

    Iterative, each node once: a block parameter bound to an expression and used
    several times makes the word a graph whose shared parts a recursive walk would
    visit again at every use, exponentially in the depth of block calls."""
    done: dict[tuple[str, int], int] = {}  # by value: each use of a parameter is a Word of its own
    stack = [word]
    while stack:
        node = stack[-1]
        key = node.kind, id(node.value)
        if key in done:
            stack.pop()
        elif node.kind != "expr":
            done[key] = _leaf(node, shape_of)
            stack.pop()
        else:
            expr = node.value
            assert isinstance(expr, Expr)  # the value of a word of kind "expr"
            left, right = expr.left, expr.right
            waiting = [w for w in (right, left) if (w.kind, id(w.value)) not in done]
            if waiting:
                stack += waiting
                continue
            done[key] = _apply(node, done[left.kind, id(left.value)], done[right.kind, id(right.value)])
            stack.pop()
    return done[word.kind, id(word.value)]


def _leaf(word: Word, shape_of: Callable[[str], ir.Shape | None]) -> int:
    if word.kind == "int":
        number = cast(int, word.value)  # an "int" word's value: or inf, refused here
        if abs(number) > MAX_INT:  # inf for a literal of thousands of digits: not printed
            raise ValueProblem("E106", f"`{shown(word.text)}` in an expression is too large (at most {MAX_INT:,})")
        return number
    if word.kind == "dim":
        name, axis = cast("tuple[str, str]", word.value)  # a "dim" word's value: the layer and the axis
        shape = shape_of(name)
        if not is_known(shape):
            raise Unknown
        if len(shape) < 3 and axis != "c":
            what = f"a vector of {shape[0]}" if len(shape) == 1 else f"a 1-D signal of length {shape[0]}"
            raise ValueProblem("E105", f"`{word.text}`: {name} is {what}, it has no {axis}",
                               f"use `{'.'.join((*word.text.split('.')[:-1], 'c'))}` for its "
                               + ("size" if len(shape) == 1 else "channels"))
        return shape[AXES[axis] + (len(shape) == 4 and axis != "c")]  # (D, H, W, C): h and w after depth
    if word.kind == "unknown":
        raise Unknown
    raise ValueProblem("E105", f"`{shown(word.text)}` is not a whole number: an expression takes numbers, "
                               f"parameters and REF.c, REF.h, REF.w")


def _apply(word: Word, left: int, right: int) -> int:
    expr = word.value
    assert isinstance(expr, Expr)  # _apply is given the words of kind "expr"
    op = expr.op
    if op in ("/", "//") and right == 0:
        raise ValueProblem("E114", f"`{shown(word.text)}` divides by zero ({left}{op}0)",
                           "the divisor is 0: change the numbers, or the layers they come from")
    if op == "/":
        if left % right:
            raise ValueProblem("E114", f"`{shown(word.text)}` is {left}/{right}, not a whole number",
                               "`/` must divide exactly: use `//` to round down, or change the numbers")
        return left // right
    if op == "//":
        return left // right
    result = left * right if op == "*" else left + right if op == "+" else left - right
    if abs(result) > MAX_INT:  # either sign: a negative one is E106 once checked, if it stays small
        raise ValueProblem("E209", f"`{shown(word.text)}` would be {result:,} ({left:,} {_SIGN[op]} {right:,}); "
                                   f"sizes are capped at {MAX_INT:,}", TOO_LARGE_HELP)
    return result


_SIGN = {"*": "×", "+": "+", "-": "−"}


def shown(text: str, width: int = 60) -> str:
    """A written value as a message quotes it: a long one cut, with an ellipsis."""
    return text if len(text) <= width else f"{text[:width]}…"


def references(layer: ir.Layer) -> Iterator[str]:
    """The layers whose shapes the layer's Deferred values read (`conv1` of `conv1.h*2`), each node once."""
    for name in layer._fields:
        value = getattr(layer, name)
        if isinstance(value, ir.Deferred):
            assert isinstance(value.word, Word)  # ir types it as object: ir does not import the syntax
            yield from _named(value.word)


def _named(word: Word) -> list[str]:
    names: list[str] = []
    seen, stack = set(), [word]
    while stack:
        node = stack.pop()
        if id(node.value) in seen:
            continue
        seen.add(id(node.value))
        if node.kind == "dim":
            names.append(cast("tuple[str, str]", node.value)[0])  # a "dim" word's value: the layer and the axis
        elif node.kind == "expr":
            expr = node.value
            assert isinstance(expr, Expr)  # the value of a word of kind "expr"
            stack += (expr.right, expr.left)
    return names


def resolve(layer: ir.Layer, shape_of: Callable[[str], ir.Shape | None]
            ) -> tuple[ir.Layer, list[Diagnostic], bool]:
    """The layer with its values computed; the diagnostics; whether every value was found."""
    changes, problems, complete = {}, [], True
    for name in layer._fields:
        value = getattr(layer, name)
        if not isinstance(value, ir.Deferred):
            continue
        assert isinstance(value.word, Word)  # ir types it as object: ir does not import the syntax
        try:
            number = evaluate(value.word, shape_of)
            check = STATEMENTS[value.keyword].options[value.option]
            changes[name] = check(Word(number, value.word.text, "int", value.word.span), value.what)
        except Unknown:
            complete = False
        except ValueProblem as problem:
            complete = False
            problems.append(error(problem.code, problem.message, value.word.span, problem.help))
    return layer._replace(**changes), problems, complete
