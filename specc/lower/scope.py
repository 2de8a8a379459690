"""Edges: which layers each spec line reads, and the E112/E113 reference errors.

A layer line reads the line above it unless it says `from=REF`; a merge
(`add`, `concat`, ...: specc.kinds.MERGES) reads its operands, and with one operand the
line above comes first (`add shortcut` is the course's `X + X_shortcut`). A
reference is `input` or a label on a line above: source order is the graph's
order, so a line never reads itself or a line below. No torch.
"""

from __future__ import annotations

from .. import ir
from ..diagnostics import Diagnostic, did_you_mean, error
from ..kinds import MERGES
from ..syntax import Option, Statement, Word


def split_from(st: Statement) -> tuple[Statement, Option | None, list[Diagnostic]]:
    """The statement without its `from=` option, the option, and E107 for a second one."""
    found = [o for o in st.options if o.name.text == "from"] if st.options else []
    if not found:
        return st, None, []
    rest = tuple(o for o in st.options if o.name.text != "from")
    twice = [error("E107", "from given twice", o.name.span, f"a layer reads one input; merge several with {_MERGING}")
             for o in found[1:]]
    return st._replace(options=rest), found[0], twice


_MERGING = ", ".join(f"`{m}`" for m in MERGES[:-1]) + f" or `{MERGES[-1]}`"  # `add`, `concat` or `multiply`


class Scope:
    """What a body (or the top level) can read: its labels seen so far (label -> layer
    name), every label it defines (for E113), and, in a block, `in`: its input."""

    def __init__(self, everywhere: dict[str, int], entry: str | None = None, named_input: bool = True):
        self.above: dict[str, str] = {}
        self.everywhere = everywhere  # label -> its line
        self.entry = entry
        self.named_input = named_input  # `input` names the network's input (no input is labelled)
        self.rejected: set[str] = set()  # labels of lines refused with an error of their own
        self.calls: dict[str, str | None] = {}  # label of a block call -> its instance (None: repeated), for share=

    def resolve(self, word: Word, line: int, closed: bool = False) -> tuple[str | None, Diagnostic | None]:
        text = word.text
        if text == "in" and self.entry is not None:
            return self.entry, None
        if text == ir.INPUT and not closed and self.named_input:
            return ir.INPUT, None
        if text in self.above:
            return self.above[text], None
        if text in self.rejected:  # its line has its error: no second one here
            return None, None
        if text in self.everywhere:
            where = "this line itself" if self.everywhere[text] == line else f"line {self.everywhere[text]}"
            return None, error("E113", f"`{text}` is defined on {where}: a line can only read lines above it",
                               word.span, "move this line below it, or read another layer")
        return None, error("E112", f"unknown reference `{text}`", word.span, self._hint(text, closed))

    def _hint(self, text: str, closed: bool) -> str:
        known = [*self.above, "in"] if closed else [*self.above, ir.INPUT] if self.named_input else [*self.above]
        if closed:
            return did_you_mean(text, known) or (
                "a block is closed: its body reads `in` (its input), its own labels and layers passed to it "
                "as parameters, nothing else of the file")
        return did_you_mean(text, known) or (
            "`in` is a block's input; outside a block the network's input is `input`" if text == "in" else
            f"references name a label on a line above ({', '.join(known[-5:])}); label a layer with `name: …`")
