"""Checkers for option values: each turns a Word into a normalised value or
raises ValueProblem (E105 for a wrong type, E106 for a value out of range).
The checker of activations is the activation table's (specc.kinds.activation).
Pure Python, no torch.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable

from .. import ir
from ..diagnostics import did_you_mean
from ..syntax import Word

# Larger numbers are certainly typos, and keep every figure a float can hold.
MAX_INT = 2**31 - 1


def shown(text: str, keep: int = 12) -> str:
    """A written value as a message quotes it: a number of thousands of digits is its first
    digits and its length, never the whole of it."""
    if len(text) <= 2 * keep:
        return text
    digits = sum(c.isdigit() for c in text)
    size = f"{digits:,} digits" if digits * 2 > len(text) else f"{len(text):,} characters"
    return f"{text[:keep]}… ({size})"


class ValueProblem(Exception):
    """A value that does not fit its option: code E105 (type) or E106 (range)."""

    def __init__(self, code: str, message: str, help: str | None = None):
        super().__init__(message)
        self.code, self.message, self.help = code, message, help


# A word's value is what its kind says (specc.syntax.nodes.Word): these two read it so. Told to the
# type checker by an ignore, not by cast(): a call per value of every layer is a cost at 100k layers.
def _number(word: Word) -> int | float:
    """The value of an "int" word (inf for a literal too long to convert) or a "float" word."""
    return word.value  # type: ignore[return-value]


def _dims(word: Word) -> tuple[int | float, ...]:
    """The value of a "dims" word: its numbers, inf for one too long to convert."""
    return word.value  # type: ignore[return-value]


def _int(word: Word, what: str, minimum: int) -> int:
    value: int | float
    if word.kind == "float" and float(_number(word)).is_integer() and "." not in word.text:
        value = int(_number(word))  # 1e3
    elif word.kind != "int":
        raise ValueProblem("E105", f"{what} must be a whole number, got `{shown(word.text)}`")
    else:
        value = word.value  # type: ignore[assignment]  # _number's, without a call: inf for a literal too long
    _check_int(value, what, minimum)
    return int(value)


def _check_int(value: int | float, what: str, minimum: int) -> None:
    if value < minimum:
        raise ValueProblem("E106", f"{what} must be at least {minimum}, got {shown(str(value))}")
    if value == math.inf:  # a literal of thousands of digits: Python will not even print it
        raise ValueProblem("E106", f"{what} has thousands of digits: far too large (at most {MAX_INT:,})")
    if value > MAX_INT:
        raise ValueProblem("E106", f"{what} {value:,} is too large (at most {MAX_INT:,})")


def _whole(dims: tuple[int | float, ...], what: str, minimum: int) -> tuple[int, ...]:
    """A dims word's numbers, each checked by _check_int: the one float such a word holds,
    inf, is refused there, so what passes is whole numbers."""
    for d in dims:
        _check_int(d, what, minimum)
    return dims  # type: ignore[return-value]  # as _number's


def _pair(minimum: int) -> Callable[[Word, str], ir.Pair]:
    """One number per spatial axis: `5` (any rank, ir.Uniform), `3x5` (2-D) or `3x3x3` (3-D)."""

    def check(word: Word, what: str) -> ir.Pair:
        if word.kind == "dims":
            dims: tuple[int | float, ...] = word.value  # type: ignore[assignment]  # as _dims, without a call
            if len(dims) > 3:
                raise ValueProblem("E105", f"{what} takes one to three numbers (5, 3x5 or 3x3x3), "
                                           f"got `{word.text}`")
            for d in dims:  # _whole, written out: every layer with a window passes here
                _check_int(d, what, minimum)
            return dims  # type: ignore[return-value]  # whole numbers, as _whole says
        return _uniform(_int(word, what, minimum))

    return check


@functools.lru_cache(maxsize=1024)
def _uniform(value: int) -> ir.Uniform:
    """One tuple per number, shared by every layer that writes it (they are immutable)."""
    return ir.Uniform.of(value)


def count(word: Word, what: str) -> int:
    return _int(word, what, 1)


def seed(word: Word, what: str) -> int:
    return _int(word, what, 0)


positive_pair = _pair(1)
padding_pair = _pair(0)


def padding(word: Word, what: str) -> ir.Padding:
    if word.kind == "name":
        if word.value == "same":
            return "same"
        if word.value == "valid":
            return _uniform(0)
        raise ValueProblem("E105", f"{what} must be `valid`, `same`, a number or HxW, got `{word.text}`",
                           did_you_mean(str(word.value), ["same", "valid"]))
    return padding_pair(word, what)


def boolean(word: Word, what: str) -> bool:
    if word.kind == "name" and word.value in ("true", "false"):
        return word.value == "true"
    raise ValueProblem("E105", f"{what} must be `true` or `false`, got `{word.text}`",
                       did_you_mean(word.text, ["true", "false"]))


# The names an option's checker takes as words of its own (`over=c`, `padding=same`, `bias=true`): in a block body
# such a word is the option's, never a parameter of the same name (specc.lower.expansion). choice() adds its names.
OWN_WORDS: dict[Callable, frozenset[str]] = {padding: frozenset(("same", "valid")),
                                             boolean: frozenset(("true", "false"))}


def _float(word: Word, what: str) -> float:
    if word.kind not in ("int", "float"):
        raise ValueProblem("E105", f"{what} must be a number, got `{word.text}`")
    value = float(_number(word))
    if not math.isfinite(value):  # 1e999 reads as infinity: a slope or rate of inf makes every figure NaN
        raise ValueProblem("E106", f"{what} must be a finite number, got {shown(word.text)} (infinite as a float)")
    return value


def _ranged(low: float, high: float, closed_high: bool = False,
            open_low: bool = False) -> Callable[[Word, str], float]:
    def check(word: Word, what: str) -> float:
        value = _float(word, what)
        too_low = value <= low if open_low else value < low
        too_high = value > high if closed_high else value >= high
        if too_low or too_high:
            left, right = "(" if open_low else "[", "]" if closed_high else ")"
            raise ValueProblem("E106", f"{what} must be in {left}{low:g}, {high:g}{right}, got {shown(word.text)}")
        return value

    return check


rate = _ranged(0.0, 1.0)
fraction = _ranged(0.0, 1.0, open_low=True)
unit = _ranged(0.0, 1.0, closed_high=True)
positive = _ranged(0.0, float("inf"), open_low=True)
non_negative = _ranged(0.0, float("inf"))


def any_float(word: Word, what: str) -> float:
    return _float(word, what)


def choice(*names: str) -> Callable[[Word, str], str]:
    def check(word: Word, what: str) -> str:
        if word.kind == "name" and word.value in names:
            return str(word.value)
        raise ValueProblem("E105", f"{what} must be one of {', '.join(names)}; got `{word.text}`",
                           did_you_mean(word.text, names))

    OWN_WORDS[check] = frozenset(names)
    return check


def name(word: Word, what: str) -> str:
    if word.kind != "name":
        raise ValueProblem("E105", f"{what} must be a name, got `{word.text}`")
    return str(word.value)


# A path the spec can write: names and dotted names joined by `/` or `-` (the language has no quoted strings).
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?:[/-][A-Za-z0-9_][A-Za-z0-9_.]*)*")


def path(word: Word, what: str) -> str:
    """A file's path as written (`weights/resnet18.pth`), relative to the spec's folder where it is used."""
    if word.kind in ("name", "ref", "expr") and _PATH.fullmatch(word.text):
        return word.text
    raise ValueProblem("E105", f"{what} must be a path of letters, digits, `_`, `.`, `-` and `/` that starts with a "
                               f"letter, relative to the spec's folder; got `{shown(word.text)}`",
                       "give any other path with the command's flag (`specc train --init PATH`)")


# Checkers that read a word's text whatever its kind: a path's `weights/r18.pth` is a division of a dotted name
# to specc.syntax, and is handed over as written rather than refused as a computed value (specc.lower).
READS_TEXT: frozenset[Callable] = frozenset((path,))


def input_dims(word: Word, what: str) -> tuple[int, ...]:
    dims = _dims(word) if word.kind == "dims" else (_number(word),) if word.kind == "int" else None
    if dims is None or len(dims) > 4:
        raise ValueProblem("E105", f"the input must be HxWxC, HxW or N (or DxHxWxC; LxC with layout=lc), "
                                   f"got `{word.text}`", "for example `input 32x32x3`")
    whole = _whole(dims, "each input dimension", 1)
    return (whole[0], whole[1], 1) if len(whole) == 2 else whole


def reshape_dims(word: Word, what: str) -> tuple[int, ...]:
    """`reshape`'s target shape, channels last as every spec shape: N, HxWxC or DxHxWxC (LxC: two numbers)."""
    value = word.value
    dims = tuple(value) if word.kind == "dims" and isinstance(value, tuple) else \
        (value,) if word.kind == "int" and isinstance(value, (int, float)) else None
    if dims is None or len(dims) > 4:
        raise ValueProblem("E105", f"{what} must be one to four numbers, channels last (N, LxC, HxWxC or DxHxWxC), "
                                   f"got `{shown(word.text)}`", "for example `reshape 19x19x5x85`")
    sizes = []
    for d in dims:
        if not isinstance(d, (int, float)):
            raise ValueProblem("E105", f"{what} must be whole numbers, got `{shown(word.text)}`")
        _check_int(d, "each dimension of a reshape", 1)
        sizes.append(int(d))
    return tuple(sizes)


def as_signal(shape: tuple[int, ...], word: Word) -> tuple[int, ...]:
    """`input LxC layout=lc`: the two written numbers are length and channels, not HxW."""
    if word.kind != "dims" or len(_dims(word)) != 2:
        raise ValueProblem("E105", f"layout=lc takes the input as LxC (length x channels), got `{word.text}`",
                           "for example `input 14x1 layout=lc`")
    # `shape` is input_dims's reading of this word, which checked its numbers: none is refused here
    return _whole(_dims(word), "each input dimension", 1)
