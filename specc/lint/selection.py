"""Which rules run: codes, prefixes, names and ALL, layered like ruff's.

A selector is a rule code (`W101`), a code prefix (`W1`, `W`), a rule name
(`dense-on-large-map`) or `ALL`. A layer of settings (the [tool.specc] table,
then the command line) applies, in order: `select` (replaces the set),
`extend-select` (adds), `ignore` (removes): one Settings each. Error codes (E…) are not rules:
errors are always reported, so selecting or ignoring one is a usage error.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..diagnostics import CODES, close_match
from ..errors import SpeccError
from .registry import BY_NAME, DEFAULTS, RULES


class Settings:
    """One source of settings; ``origin`` names it in error messages ({key}: the setting)."""

    __slots__ = ("select", "extend_select", "ignore", "origin")

    def __init__(self, select: tuple[str, ...] | None = None, extend_select: tuple[str, ...] = (),
                 ignore: tuple[str, ...] = (), origin: str = "--{key}"):
        self.select, self.extend_select, self.ignore, self.origin = select, extend_select, ignore, origin


def suggestion(word: str, with_errors: bool = False) -> str:
    """'; did you mean `W101`?' for the nearest rule code or name, or a pointer to `specc rules`."""
    known = [*RULES, *CODES] if with_errors else list(RULES)
    # A code has no letter O: `E2O1` is E201 (difflib alone ties it with E210 and takes the larger).
    found = close_match(word.upper().replace("O", "0"), known) or close_match(word.lower(), BY_NAME)
    return f"; did you mean `{found}`?" if found else "; `specc rules` lists them"


def matching(selector: str, origin: str) -> frozenset[str]:
    """The codes a selector stands for; SpeccError (status 2) if none."""
    word = selector.strip()
    if word.upper() == "ALL":
        return frozenset(RULES)
    if word.lower() in BY_NAME:
        return frozenset({BY_NAME[word.lower()].code})
    code = word.upper()
    found = frozenset(c for c in RULES if code and c.startswith(code))
    if found:
        return found
    if code.startswith("E") and any(e.startswith(code) for e in CODES):
        raise SpeccError(f"`{word}` in {origin} is an error code: errors are always reported and cannot be "
                         f"selected or ignored", 2)
    raise SpeccError(f"unknown rule `{word}` in {origin}{suggestion(word)}", 2)


def matching_all(selectors: Iterable[str], origin: str) -> frozenset[str]:
    return frozenset().union(*(matching(s, origin) for s in selectors))


def apply(enabled: frozenset[str], layer: Settings) -> frozenset[str]:
    def where(key: str) -> str:
        return layer.origin.replace("{key}", key)

    if layer.select is not None:
        enabled = matching_all(layer.select, where("select"))
    enabled |= matching_all(layer.extend_select, where("extend-select"))
    return enabled - matching_all(layer.ignore, where("ignore"))


def codes(value: Iterable[str] | str | None) -> tuple[str, ...] | None:
    """Selectors as given: a list, or one comma-separated string (as the flags write them)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v.strip() for v in value if v.strip())


def enabled(select: Iterable[str] | str | None = None, ignore: Iterable[str] | str | None = None,
            origin: str = "{key}") -> frozenset[str]:
    """The codes to run: the defaults (or ``select``) minus ``ignore``."""
    return apply(DEFAULTS, Settings(codes(select), (), codes(ignore) or (), origin))

