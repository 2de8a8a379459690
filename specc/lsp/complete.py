"""Completion: what may come next at the cursor, read from the text before it.

- the first word of a line: statement keywords (specc.lower.statements's STATEMENTS and
  KEYWORD_ALIASES), block names, and `block` at the top level;
- later words: the statement's options as `name=` (its Form's options and
  aliases; a block call's parameters), and activations where a bare one fits;
- after `name=`: the values the option's checker accepts (activations, `same`,
  `true`/`false`, an optimizer ...), for `from=` the labels above, for `share=` the labels above of its
  scope (the lines whose weights it may share), and inside a block body `if=` with the block's parameters;
- operands of a merge (specc.kinds.MERGES: `add`, `concat`, ...) and the layers an `output`
  line names: the labels above.

Which keywords, options and merges exist is read from specc.lower.statements and
specc.kinds, so new statements appear here without a change. Positions are code points.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from lsprotocol import types

from ..analysis import Analysis
from ..diagnostics import Span
from ..kinds import ACTIVATIONS
from ..kinds.values import ValueProblem
from ..lower.statements import KEYWORD_ALIASES, STATEMENTS, Form
from ..syntax import Word
from ..syntax import lines as source_lines
from . import scan

REFERENCE_OPTIONS = ("from",)
# Words tried against an option's checker to find the values it accepts.
VOCABULARY = (*ACTIVATIONS, "same", "valid", "true", "false", "nearest", "bilinear")
_LABEL = re.compile(rf"^\s*{scan.NAME}\s*:\s*")
Kind = types.CompletionItemKind
SHARE = types.CompletionItem("share=", kind=Kind.Property,
                             detail="the earlier line (or block call) whose parameters this one uses")

CONDITION = types.CompletionItem("if=", kind=Kind.Property,
                                 detail="a parameter of the block bound to true or false: false leaves the line out")


def complete(analysis: Analysis, line: int, character: int) -> list[types.CompletionItem]:
    lines = source_lines(analysis.source)
    before = lines[line][:character] if line < len(lines) else ""
    if "#" in before:
        return []
    rest = before[label.end():] if (label := _LABEL.match(before)) else before
    words = rest.split()
    typing = "" if not rest or rest[-1].isspace() else words.pop()
    if not words:
        return _keywords(lines, line)
    keyword = KEYWORD_ALIASES.get(words[0], words[0])
    if "=" in typing:
        return _values(lines, line, analysis, keyword, typing.split("=", 1)[0])
    all_blocks = scan.blocks(lines)
    # any line or call inside a block body may be optional
    optional = [CONDITION] if scan.scope(all_blocks, line) and not any(w.startswith("if=") for w in words) else []
    form = STATEMENTS.get(keyword)
    if form is not None and form.merge:  # a merge's arguments are the layers it merges
        found = _references(lines, line, analysis)
        # `output` names layers: the network's input is not one (E122)
        return [i for i in found if i.label != "input"] if keyword == "output" else [*found, *optional]
    block = next((b for b in all_blocks if b.place.name == keyword), None)
    if block is not None:
        return [*(_item(f"{p}=", Kind.Variable, f"parameter of {block.place.name}") for p in block.params),
                *([SHARE] if not any(w.startswith("share=") for w in words) else []), *optional]
    return [*_options(keyword, words[1:]), *optional]


def _item(label: str, kind: Kind, detail: str | None = None) -> types.CompletionItem:
    return types.CompletionItem(label, kind=kind, detail=detail)


def _keywords(lines: list[str], line: int) -> list[types.CompletionItem]:
    items = [_item(k, Kind.Keyword, form.usage or None) for k, form in STATEMENTS.items()]
    items += [_item(alias, Kind.Keyword, f"= {target}") for alias, target in KEYWORD_ALIASES.items()]
    all_blocks = scan.blocks(lines)
    items += [_item(b.place.name, Kind.Function, f"block {b.place.name}({', '.join(b.params)})")
              for b in all_blocks]
    if scan.scope(all_blocks, line) is None:
        items.append(_item("block", Kind.Keyword, "block NAME(params) { ... }"))
    return items


def _canonical(form: Form, written: str) -> str:
    return form.aliases.get(written, written)


def _options(keyword: str, written: Iterable[str]) -> list[types.CompletionItem]:
    form = STATEMENTS.get(keyword)
    if form is None:
        return []
    given = {_canonical(form, w.split("=", 1)[0]) for w in written if "=" in w}
    if form.bare_activation and any(w in ACTIVATIONS for w in written):
        given.add("activation")
    items = [_item(f"{name}=", Kind.Property, None) for name in form.options if name not in given]
    items += [_item(f"{alias}=", Kind.Property, f"= {target}=") for alias, target in form.aliases.items()
              if target in form.options and target not in given]
    if getattr(form, "node", None) is not None and "from" not in given:  # a layer may read another: from=REF
        items.append(_item("from=", Kind.Property, "the layer this one reads (default: the line above)"))
    if getattr(form, "node", None) is not None and "share" not in given:
        items.append(SHARE)
    if form.bare_activation and "activation" not in given:
        items += [_item(fn, Kind.EnumMember, "activation") for fn in ACTIVATIONS]
    filled = sum("=" not in w for w in written)
    if getattr(form, "node", None) is not None and filled < len(form.positional):  # `activation ` -> relu, ...
        slot = form.positional[filled]
        checker = form.options.get(slot)
        items += [_item(word, Kind.EnumMember, slot) for word in (_accepted(checker, slot) if checker else ())]
    return items


def _values(lines: list[str], line: int, analysis: Analysis, keyword: str, option: str
            ) -> list[types.CompletionItem]:
    if option in REFERENCE_OPTIONS:
        return _references(lines, line, analysis)
    if option == "if":  # the parameters of the block the line stands in
        body = scan.scope(scan.blocks(lines), line)
        return [_item(p, Kind.Variable, f"parameter of {body.place.name}") for p in body.params] if body else []
    if option == "share":  # the labelled lines above, of the same body: an input, `in` or `e1.x` never shares
        return [_item(p.name, Kind.Reference, f"line {p.line + 1}") for p in scan.visible(lines, line)]
    form = STATEMENTS.get(keyword)
    if form is None:
        return []
    checker = form.options.get(_canonical(form, option))
    if checker is None:
        return []
    return [_item(word, Kind.Value, option) for word in _accepted(checker, option)]


def _accepted(checker: Callable, option: str) -> list[str]:
    """The names a checker accepts: the common vocabulary and the names a `choice` closes over."""
    candidates = list(VOCABULARY)
    for cell in getattr(checker, "__closure__", None) or ():
        value = cell.cell_contents
        if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            candidates += [v for v in value if v not in candidates]
    accepted = []
    for name in candidates:
        try:
            checker(Word(name, name, "name", Span.at(1)), option)
        except ValueProblem:
            continue
        accepted.append(name)
    return accepted


def _references(lines: list[str], line: int, analysis: Analysis) -> list[types.CompletionItem]:
    """Labels defined above in the same scope, `input` or `in`, and labelled layers of block instances."""
    visible = scan.visible(lines, line)
    items = [_item(p.name, Kind.Reference, f"line {p.line + 1}") for p in visible]
    names = {p.name for p in visible}
    for r in analysis.layers:
        if r.layer.labelled and "." in r.layer.name and r.layer.name.split(".")[0] in names:
            items.append(_item(r.layer.name, Kind.Reference, f"line {r.layer.line}"))
    inside = scan.scope(scan.blocks(lines), line) is not None
    items.append(_item("in" if inside else "input", Kind.Reference, "the block's input" if inside else "the input"))
    return items
