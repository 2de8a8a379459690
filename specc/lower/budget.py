"""The limits of expansion: what a statement would make, known before it is expanded.

Three nested `repeat=1000000` (96 bytes) make 10^18 layers, and forty blocks
that each call the one before twice make 2^40: expanding them until memory ran
out took most of a minute. So the size of every statement is counted before
it is expanded, a block body's once per block, whole numbers bound to its
parameters and depth (memoised), and expansion refuses (E118) the statement
that would take the spec past MAX_LAYERS layers or block instances, without
making any of them. Every layer counts: those written out, those a `repeat=`
copies and those of block instances, so a spec's later stages (compile,
draw, a forward pass) never see more than MAX_LAYERS. Block calls nest at most MAX_DEPTH deep
(E119): every later stage walks the instances recursively. No torch.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..diagnostics import Diagnostic, Note, error
from ..kinds.values import shown
from ..record import NamedTuple
from ..syntax import BlockDef, Option, Statement, Word
from ..syntax.structure import refused_params
from .statements import KEYWORD_ALIASES, STATEMENTS

MAX_LAYERS = 100_000  # layers (and block instances) of a spec; also the largest `repeat=`
MAX_DEPTH = 32  # block calls nested in each other; real networks nest three or four
_CEILING = 10**30  # sizes are counted up to here: past it, "more than 10^30" says enough
_NOTES = 4  # the statements named under an E118, from the call down to what it multiplies


class Size(NamedTuple):
    """What a statement makes: expanded layers and block instances."""

    layers: int
    instances: int

    def __add__(self, other: tuple) -> Size:
        return Size(min(self.layers + other[0], _CEILING), min(self.instances + other[1], _CEILING))

    def times(self, copies: int) -> Size:
        return Size(min(self.layers * copies, _CEILING), min(self.instances * copies, _CEILING))


NOTHING_MADE = Size(0, 0)


def call_size(body: Size, copies: int) -> Size:
    """A call's: each copy is an instance and its body."""
    return Size(body.layers, body.instances + 1).times(copies)


def repeat_option(st: Statement) -> Option | None:
    """The statement's first `repeat=` (a second one is E107)."""
    for option in st.options:
        if option.name.text == "repeat":
            return option
    return None


def whole(word: Word) -> int | None:
    """A whole number as a count: a literal too long to convert (inf) counts as the ceiling."""
    if word.kind != "int":
        return None
    return word.value if type(word.value) is int else _CEILING


class Sizes:
    """The sizes of block bodies, memoised by block, the whole numbers bound to its
    parameters and the depth."""

    __slots__ = ("blocks", "memo", "refusals")

    def __init__(self, blocks: Mapping[str, BlockDef]) -> None:
        self.blocks = blocks
        self.memo: dict[tuple, Size] = {}
        self.refusals: dict[str, frozenset[str]] = {}

    def refused(self, block: BlockDef) -> frozenset[str]:
        """The parameters a call binds nothing to (specc.syntax.structure.refused_params), once per block."""
        found = self.refusals.get(block.name.text)
        if found is None:
            found = self.refusals[block.name.text] = refused_params(block)
        return found

    def body(self, block: BlockDef, numbers: tuple[int | None, ...], stack: tuple[str, ...]) -> Size:
        """What one instance of ``block`` makes; ``stack`` holds it and the blocks it is called in."""
        key = (block.name.text, numbers, len(stack))
        found = self.memo.get(key)
        if found is None:
            params = dict(zip((p.name.text for p in block.params), numbers))
            found = NOTHING_MADE
            for st in block.body:
                found = found + self.statement(st, params, stack)
            self.memo[key] = found
        return found

    def statement(self, st: Statement, params: Mapping[str, int | None], stack: tuple[str, ...]) -> Size:
        """What a body statement makes, as expansion will make it: nothing for a call that expansion
        refuses (a block calling itself, too deep, or bound wrongly)."""
        copies = self.copies(st, params) or 1
        keyword = KEYWORD_ALIASES.get(st.keyword.text, st.keyword.text)
        form = STATEMENTS.get(keyword)
        if form is None and keyword in self.blocks:
            block = self.blocks[keyword]
            numbers = None if keyword in stack or len(stack) >= MAX_DEPTH else self._bound(st, block, params)
            if numbers is None:
                return NOTHING_MADE
            return call_size(self.body(block, numbers, (*stack, keyword)), copies)
        return Size(copies, 0) if form is not None and form.node is not None else NOTHING_MADE

    @staticmethod
    def copies(st: Statement, params: Mapping[str, int | None]) -> int | None:
        """The count of a `repeat=`, None where it is absent or no count (E106: one copy)."""
        option = repeat_option(st)
        if option is None:
            return None
        word = option.value
        count = params.get(word.text) if word.kind == "name" else whole(word)
        return count if count is not None and count >= 1 else None

    def _bound(self, st: Statement, block: BlockDef, params: Mapping[str, int | None]) -> tuple | None:
        """The whole numbers a call binds to the block's parameters; None where binding fails
        (E103, E104, E115), as blocks._bind decides."""
        names = [p.name.text for p in block.params]
        if len(st.args) > len(names):
            return None
        values = {name: _number(word, params) for name, word in zip(names, st.args)}
        for option in st.options:
            key = option.name.text
            if key in ("repeat", "from"):
                continue
            if key not in names or key in values:
                return None
            values[key] = _number(option.value, params)
        refused = self.refused(block)
        for p in block.params:
            if p.name.text not in values and p.name.text not in refused:
                if p.default is None:
                    return None
                values[p.name.text] = whole(p.default)
        return tuple(None if name in refused else values.get(name) for name in names)

    def notes(self, block: BlockDef, numbers: tuple, stack: tuple[str, ...]) -> tuple[Note, ...]:
        """The chain of largest statements inside a call that crosses the budget, outermost first."""
        found: list[Note] = []
        while len(found) < _NOTES:
            params = dict(zip((p.name.text for p in block.params), numbers))
            sizes = [(self.statement(st, params, stack), st) for st in block.body]
            if not sizes:
                break
            size, st = max(sizes, key=lambda pair: pair[0])
            keyword = KEYWORD_ALIASES.get(st.keyword.text, st.keyword.text)
            inner = self.blocks.get(keyword) if STATEMENTS.get(keyword) is None else None
            if inner is None and repeat_option(st) is None:
                break  # a plain layer: nothing multiplies there
            found.append(Note(f"in `{block.name.text}`, {_written(st)} makes {_made(size)}", st.span))
            bound = self._bound(st, inner, params) if inner is not None and keyword not in stack else None
            if inner is None or bound is None:
                break
            block, stack, numbers = inner, (*stack, keyword), bound
        return tuple(found)


def _number(word: Word, params: Mapping[str, int | None]) -> int | None:
    return params.get(word.text) if word.kind == "name" else whole(word)


def over(size: Size, layers: int, instances: int) -> bool:
    """Whether making ``size`` after ``layers`` and ``instances`` passes the budget."""
    return layers + size.layers > MAX_LAYERS or instances + size.instances > MAX_LAYERS


def crossing(st: Statement, size: Size, layers: int, instances: int, notes: tuple[Note, ...] = ()) -> Diagnostic:
    """E118 at the statement that would take the spec past the budget, at its `repeat=` if it has one."""
    option = repeat_option(st)
    what, before = ("layers", layers) if layers + size.layers > MAX_LAYERS else ("block instances", instances)
    made = size.layers if what == "layers" else size.instances
    message = f"{_written(st)} would make {figure(made)} {what}"
    if made <= MAX_LAYERS:
        message += f", {figure(before + made)} with the {figure(before)} above it"
        help = "the spec as a whole is too large; the lines after this one are not expanded"
    else:
        help = "a count this large is almost always a typo; the lines after this one are not expanded"
    message += f": a spec may expand to at most {MAX_LAYERS:,}"
    span = option.value.span if option is not None else st.keyword.span
    return error("E118", message, span, help)._replace(notes=notes)


def too_deep(st: Statement, stack: tuple[str, ...], name: str) -> Diagnostic:
    """E119 at a call that nests deeper than MAX_DEPTH, with the chain of calls it ends."""
    chain = (*stack, name)
    shown_chain = chain if len(chain) <= 6 else (*chain[:3], "…", *chain[-2:])
    message = (f"`{name}` is called {len(chain)} blocks deep ({' -> '.join(shown_chain)}): "
               f"block calls nest at most {MAX_DEPTH} deep")
    return error("E119", message, st.keyword.span, "networks nest blocks a few levels deep: inline some of them")


def _written(st: Statement) -> str:
    """How a message quotes a statement: its keyword, `…` for its values, its `repeat=`."""
    option = repeat_option(st)
    middle = " …" if st.args or len(st.options) > (option is not None) else ""
    repeat = f" repeat={shown(option.value.text)}" if option is not None else ""
    return f"`{st.keyword.text}{middle}{repeat}`"


def _made(size: Size) -> str:
    layers = f"{figure(size.layers)} {'layer' if size.layers == 1 else 'layers'}"
    if not size.instances:
        return layers
    instances = f"{figure(size.instances)} block {'instance' if size.instances == 1 else 'instances'}"
    return f"{layers} in {instances}" if size.layers else instances


def figure(n: int) -> str:
    """A count as a message shows it: 1,000,000; 10^18; about 1.1 x 10^12; more than 10^30."""
    if n >= _CEILING:
        return f"more than 10^{len(str(_CEILING)) - 1}"
    if n < 10**9:
        return f"{n:,}"
    power = len(str(n)) - 1
    return f"10^{power}" if n == 10**power else f"about {n / 10**power:.1f} x 10^{power}"
