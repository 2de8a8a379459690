"""Edges: which layers each spec line reads, and the E112/E113 reference errors.

A layer line reads the line above it unless it says `from=REF`; a merge
(`add`, `concat`, `multiply`) reads its operands, and with one operand the
line above comes first (`add shortcut` is the course's `X + X_shortcut`). A
reference is `input` or a label on a line above: source order is the graph's
order, so a line never reads itself or a line below. No torch.
"""

from __future__ import annotations

import dataclasses

from . import ir
from .diagnostics import Diagnostic, did_you_mean, error
from .syntax import Option, Statement, Word


def split_from(st: Statement) -> tuple[Statement, Option | None, list[Diagnostic]]:
    """The statement without its `from=` option, the option, and E107 for a second one."""
    found = [o for o in st.options if o.name.text == "from"]
    if not found:
        return st, None, []
    rest = tuple(o for o in st.options if o.name.text != "from")
    twice = [error("E107", "from given twice", o.name.span, "a layer reads one input; merge several with "
                   "`add`, `concat` or `multiply`") for o in found[1:]]
    return dataclasses.replace(st, options=rest), found[0], twice


class Scope:
    """The labels seen so far (name -> layer name), and every label of the spec (for E113)."""

    def __init__(self, everywhere: dict[str, int]):
        self.above: dict[str, str] = {}
        self.everywhere = everywhere  # label -> its line

    def resolve(self, word: Word, line: int) -> tuple[str | None, Diagnostic | None]:
        text = word.text
        if text == ir.INPUT:
            return ir.INPUT, None
        if text in self.above:
            return self.above[text], None
        if text in self.everywhere:
            where = "this line itself" if self.everywhere[text] == line else f"line {self.everywhere[text]}"
            return None, error("E113", f"`{text}` is defined on {where}: a line can only read lines above it",
                               word.span, "move this line below it, or read another layer")
        known = [*self.above, ir.INPUT]
        hint = did_you_mean(text, known) or (
            "`in` is a block's input; outside a block the network's input is `input`" if text == "in" else
            f"references name a label on a line above ({', '.join(known[-5:])}); label a layer with `name: …`")
        return None, error("E112", f"unknown reference `{text}`", word.span, hint)


def inputs(st: Statement, merge: bool, origin: Option | None, previous: str,
           scope: Scope) -> tuple[tuple[str, ...] | None, list[Diagnostic]]:
    """The layers a statement reads; None (with diagnostics) when a reference is wrong."""
    line = st.span.line
    if merge:
        if not st.args:
            usage = f"usage: {st.keyword.text} REF [REF ...], e.g. `{st.keyword.text} shortcut`"
            return None, [error("E103", f"`{st.keyword.text}` needs the layers to merge", st.keyword.span, usage)]
        words = list(st.args)
    else:
        words = [origin.value] if origin is not None else []
    found, problems = [], []
    for word in words:
        name, problem = scope.resolve(word, line)
        found.append(name)
        problems += [problem] if problem else []
    if problems:
        return None, problems
    if not merge:
        return (tuple(found) or (previous,)), []
    return (tuple(found) if len(found) > 1 else (previous, found[0])), []
