"""Blocks and repeats, expanded: the spec's lines to one flat, named graph.

Every layer line becomes a ``Line``: its statement (block parameters
substituted, references resolved), its full name, the instance it belongs to
and the layers it reads. Each Line goes to lowering as soon as it is made, and
each top-level statement is let go once walked, so a large spec never holds
all its statements and all its lines at once. A block call expands its body
in a scope of its own (its parameters, `in`, its labels: nothing else of the
file); its layers are named `INSTANCE.LABEL` (`stage2.conv1`), unlabelled ones
numbered per instance as the course numbers layers. `repeat=N` makes N copies
in a chain, named `LABEL.0` … `LABEL.N-1`; the bare label is the last copy.
Errors inside a body point at the body line and carry one note per call site.
No torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from . import ir
from .diagnostics import Diagnostic, Note, did_you_mean, error
from .edges import Scope, split_from
from .forms import KEYWORD_ALIASES, STATEMENTS, Form
from .syntax import BlockDef, Expr, Option, Statement, Word
from .syntax_nodes import has_value_of_kind

MAX_LAYERS = 1_000_000  # repeats past this are certainly a typo, and would exhaust memory


class Line(NamedTuple):
    """One layer of the expanded graph, as lowering needs it. A named tuple: a
    spec of 100,000 layers makes 100,000 of them, and a tuple is made in a
    tenth of the time of a frozen dataclass."""

    form: Form
    statement: Statement  # parameters substituted; `from=` removed; merge operands resolved
    name: str
    labelled: bool
    inputs: tuple[str, ...] | None  # None where a reference was wrong (its output is then unknown)
    block: str | None = None  # the instance path, e.g. "layer1.0"; None at the top level
    notes: tuple[Note, ...] = ()  # where this body was called from, innermost first
    shared: bool = False  # other lines (copies) may hold this very statement: lowering binds it once


class Expansion:
    """What expanding a spec gives lowering besides its lines, filled in as the walk goes.
    (A plain class: a dataclass costs `specc check` half a millisecond to create at import.)"""

    __slots__ = ("take", "others", "diagnostics", "used", "blocks", "called", "instances")

    def __init__(self, take: Callable[[Line], None]) -> None:
        self.take = take  # lowering's: builds the layer of each Line, in order
        self.others: list[Statement] = []  # model, input, train and unknown statements
        self.diagnostics: list[Diagnostic] = []
        self.used: dict[str, set[str]] = {}  # block -> parameters its calls bound and read
        self.blocks: dict[str, BlockDef] = {}
        self.called: set[str] = set()
        self.instances: list[ir.Instance] = []


class _Instance:
    """A body being expanded: its path, parameters, input and naming state. (A plain class, as Expansion.)"""

    __slots__ = ("path", "scope", "params", "counters", "taken", "stack", "notes", "substituted")

    def __init__(self, path: str | None, scope: Scope, params: dict[str, Word], taken: set[str],
                 stack: tuple[str, ...] = (), notes: tuple[Note, ...] = (),
                 substituted: dict[int, Statement] | None = None) -> None:
        self.path, self.scope, self.params, self.taken = path, scope, params, taken
        self.counters: dict[str, int] = {}
        self.stack = stack  # the blocks being expanded, outermost first (for recursion)
        self.notes = notes
        # Body statements with the call's parameters substituted, by id of the written statement:
        # one dict for all copies of a call, which see the same parameters (see _substituted_once).
        self.substituted = {} if substituted is None else substituted

    def full(self, local: str) -> str:
        return f"{self.path}.{local}" if self.path else local

    def default_name(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0) + 1
        name = f"{prefix}{n}"
        while name in self.taken:
            n += 1
            name = f"{prefix}{n}"
        self.counters[prefix] = n
        return name


def expand(items: list, take: Callable[[Line], None]) -> Expansion:
    """The flat graph of a spec's top-level statements and block definitions: each
    layer's Line handed to ``take`` in source order, the rest returned.
    Consumes ``items`` (the list is left empty)."""
    out = Expansion(take)
    statements = []
    for item in items:
        if isinstance(item, BlockDef):
            _define(item, out)
        else:
            statements.append(item)
    items.clear()
    labels = _labels(statements, out.diagnostics)
    top = _Instance(None, Scope(labels), {}, set(labels))
    _walk(_consumed(statements), top, ir.INPUT, out)
    return out


def _consumed(statements: list[Statement]) -> Iterator[Statement]:
    """The statements in order, each let go by the list as it is handed out."""
    statements.reverse()
    while statements:
        yield statements.pop()


def _define(block: BlockDef, out: Expansion) -> None:
    name = block.name.text
    if name in STATEMENTS or name in KEYWORD_ALIASES or name in ("block", "in"):
        out.diagnostics.append(error("E116", f"a block cannot be named `{name}`: it is a statement of the language",
                                     block.name.span, "choose another name"))
    elif name in out.blocks:
        first = out.blocks[name].span.line
        out.diagnostics.append(error("E116", f"block `{name}` is defined twice (first on line {first})",
                                     block.name.span, "rename one of them"))
    else:
        out.blocks[name] = block
        out.used.setdefault(name, set())
        _labels(list(block.body), out.diagnostics)  # reported once per body, not per call


def _labels(statements: list[Statement], diagnostics: list[Diagnostic] | None = None) -> dict[str, int]:
    """The labels of a body (or the top level) and their lines; E108 for one used twice."""
    labels: dict[str, int] = {}
    for st in statements:
        if st.label is None:
            continue
        label = st.label.text
        if label in labels and diagnostics is not None:
            message = f"label `{label}` is used twice (first on line {labels[label]})"
            diagnostics.append(error("E108", message, st.label.span, "labels name layers and must be unique"))
        labels.setdefault(label, st.span.line)
    return labels


def _walk(statements: Iterable[Statement], inst: _Instance, previous: str, out: Expansion) -> str:
    """Expand a body (or the top level) reading ``previous`` first; returns the last layer's name."""
    for st in statements:
        keyword = KEYWORD_ALIASES.get(st.keyword.text, st.keyword.text)
        form = STATEMENTS.get(keyword)
        if keyword in out.blocks and form is None:
            previous = _call(st, out.blocks[keyword], inst, previous, out)
        elif form is not None and form.node is not None:
            previous = _layer_lines(st, form, inst, previous, out)
        elif inst.path is None:
            out.others.append(st)
        else:
            what = f"`{st.keyword.text}`"
            hint = ("model, input and train are top-level statements" if form is not None else
                    did_you_mean(st.keyword.text, [*STATEMENTS, *out.blocks]))
            out.diagnostics.append(_noted(error("E101", f"unknown statement {what} in a block body"
                                                if form is None else f"{what} cannot appear in a block body",
                                                st.keyword.span, hint), inst))
    return previous


def _repeat(st: Statement, inst: _Instance, out: Expansion) -> tuple[Statement, int | None]:
    """The statement without `repeat=`, and the count: None when absent or wrong (one layer, unnumbered);
    a written `repeat=1` numbers its one copy `LABEL.0`, as the contract says for every N."""
    found = _option(st, "repeat")
    if found is None:
        return st, None
    st = st._replace(options=tuple(o for o in st.options if o.name.text != "repeat"))
    word = _substitute(found.value, inst, out)
    if word.kind != "int" or not 1 <= word.value <= MAX_LAYERS:
        message = f"repeat must be a whole number from 1 to {MAX_LAYERS:,}, got `{found.value.text}`"
        out.diagnostics.append(_noted(error("E106", message, found.value.span,
                                            "repeat=N makes N copies in a chain; leave it out for one"), inst))
        return st, None
    return st, word.value


def _option(st: Statement, name: str) -> Option | None:
    """The statement's first option of that name."""
    for option in st.options:
        if option.name.text == name:
            return option
    return None


def _layer_lines(st: Statement, form: Form, inst: _Instance, previous: str, out: Expansion) -> str:
    written = st
    st, copies = _repeat(st, inst, out)
    st, origin, twice = split_from(st)
    if twice:
        out.diagnostics += [_noted(d, inst) for d in twice]
    local = st.label.text if st.label is not None else inst.default_name(form.prefix or form.kind)
    reads, problems = _inputs(st, form.merge, origin, previous, inst, out)
    out.diagnostics += problems
    st, shared = _substituted_once(written, st, form.merge, inst, out)
    labelled = st.label is not None  # only labels are references: a default name moves when a line is inserted
    if copies is None:
        name = inst.full(local)
        out.take(Line(form, st, name, labelled, reads, inst.path, inst.notes, shared))
        if labelled:
            inst.scope.above[local] = name
        return name
    names = [f"{local}.{i}" for i in range(copies)]
    full = [inst.full(name) for name in names]
    for index, name in enumerate(full):
        first = reads if index == 0 else (full[index - 1],)
        out.take(Line(form, st, name, labelled, first, inst.path, inst.notes, True))
    if labelled:
        inst.scope.above[local] = full[-1]
        inst.scope.above.update(zip(names, full))
    return full[-1]


def _inputs(st: Statement, merge: bool, origin: Option | None, previous: str, inst: _Instance,
            out: Expansion) -> tuple[tuple[str, ...] | None, list[Diagnostic]]:
    if not merge and origin is None:
        return (previous,), []
    if merge:
        if not st.args:
            usage = f"usage: {st.keyword.text} REF [REF ...], e.g. `{st.keyword.text} shortcut`"
            return None, [_noted(error("E103", f"`{st.keyword.text}` needs the layers to merge", st.keyword.span,
                                       usage), inst)]
        words = list(st.args)
    else:
        words = [origin.value] if origin is not None else []
    found, problems = [], []
    for word in words:
        name, problem = _reference(word, inst, out)
        found.append(name)
        problems += [_noted(problem, inst)] if problem else []
    if problems:
        return None, problems
    if not merge:
        return (tuple(found) or (previous,)), []
    return (tuple(found) if len(found) > 1 else (previous, found[0])), []


def _reference(word: Word, inst: _Instance, out: Expansion) -> tuple[str | None, Diagnostic | None]:
    """A layer reference: a label above, `input`, `in` in a body, or a parameter passed a layer."""
    if word.kind == "name" and word.text in inst.params:
        bound = inst.params[word.text]
        out.used.setdefault(inst.stack[-1], set()).add(word.text)
        if bound.kind == "node":
            return str(bound.value), None
        word = bound._replace(span=word.span)
    if word.kind == "node":
        return str(word.value), None
    return inst.scope.resolve(word, word.span.line, closed=inst.path is not None)


def _substituted_once(written: Statement, st: Statement, merge: bool, inst: _Instance,
                      out: Expansion) -> tuple[Statement, bool]:
    """``st`` (``written`` less `repeat=` and `from=`) substituted, and whether the copies share it.

    Every copy of a call sees the same parameters, so a body statement that reads no
    layer's shape (`conv1.c`, resolved in each copy's own scope) substitutes to the
    same statement in each: it is made once per call, and its copies share it."""
    if inst.path is None:
        return _substituted(st, merge, inst, out), False
    done = inst.substituted.get(id(written))
    if done is not None:
        return done, True
    substituted = _substituted(st, merge, inst, out)
    shared = not any(_reads_shapes(w) for w in _values(st, merge))
    if shared:
        inst.substituted[id(written)] = substituted  # the body (and so `written`) outlives the expansion
    return substituted, shared


def _substituted(st: Statement, merge: bool, inst: _Instance, out: Expansion) -> Statement:
    """The statement with its parameters replaced by the call's values (spans stay on the body line)."""
    if inst.path is None and not has_value_of_kind(st, ("ref", "expr")):
        return st
    args = st.args if merge else tuple(_substitute(w, inst, out) for w in st.args)
    options = tuple(_substitute_option(o, inst, out) for o in st.options)
    if _same(args, st.args) and _same(options, st.options):
        return st  # nothing to substitute: the lines share the written statement
    return Statement(st.label, st.keyword, args, options, st.span)


def _substitute_option(option: Option, inst: _Instance, out: Expansion) -> Option:
    value = _substitute(option.value, inst, out)
    return option if value is option.value else Option(option.name, value)


def _same(these: tuple, those: tuple) -> bool:
    return all(a is b for a, b in zip(these, those))


def _values(st: Statement, merge: bool) -> list[Word]:
    """The words of a statement that are values (a merge's arguments are references)."""
    return [*(() if merge else st.args), *(o.value for o in st.options)]


def _reads_shapes(word: Word) -> bool:
    """Whether substituting the word resolves a layer reference (`conv1.c`), which each copy does in its scope."""
    if word.kind == "expr":
        return _reads_shapes(word.value.left) or _reads_shapes(word.value.right)
    return word.kind == "ref"


def _substitute(word: Word, inst: _Instance, out: Expansion) -> Word:
    """A value word with parameters replaced and `X.c`-style references resolved to a full layer name."""
    if word.kind == "name" and word.text in inst.params:
        out.used.setdefault(inst.stack[-1], set()).add(word.text)
        bound = inst.params[word.text]
        return Word(bound.value, bound.text, bound.kind, word.span)
    if word.kind == "expr":
        expr: Expr = word.value
        left, right = _substitute(expr.left, inst, out), _substitute(expr.right, inst, out)
        if left is expr.left and right is expr.right:
            return word
        return Word(Expr(expr.op, left, right), word.text, word.kind, word.span)
    if word.kind == "ref" and word.value[-1] in ("c", "h", "w"):
        target = Word(".".join(word.value[:-1]), ".".join(word.value[:-1]), "name", word.span)
        name, problem = _reference(target, inst, out)
        if problem is not None:
            out.diagnostics.append(_noted(problem, inst))
            return word._replace(kind="unknown")
        return word._replace(value=(name, word.value[-1]), kind="dim")
    return word


def _call(st: Statement, block: BlockDef, inst: _Instance, previous: str, out: Expansion) -> str:
    """Expand a block call (with its copies); returns the name of the last layer it made."""
    name = block.name.text
    if name in inst.stack:
        chain = " -> ".join((*inst.stack[inst.stack.index(name):], name))
        out.diagnostics.append(_noted(error("E117", f"block `{name}` calls itself ({chain})", st.keyword.span,
                                            "a block may call other blocks, never itself"), inst))
        return previous
    st, copies = _repeat(st, inst, out)
    st, origin, twice = split_from(st)
    out.diagnostics += [_noted(d, inst) for d in twice]
    out.called.add(name)
    params = _bind(st, block, inst, out)
    reads, problems = _inputs(st, False, origin, previous, inst, out)
    out.diagnostics += problems
    if params is None or reads is None:
        return previous
    local = st.label.text if st.label is not None else inst.default_name(name)
    names = [local] if copies is None else [f"{local}.{i}" for i in range(copies)]
    notes = (Note(f"in `{name}`, called here as {inst.full(local)}", st.span), *inst.notes)
    last = reads[0]
    body, body_labels = list(block.body), _labels(list(block.body))
    # What every copy shares: the labels it may not take as default names, the call stack, the notes
    # and the substituted body statements (see _substituted_once).
    taken, stack, substituted = set(body_labels), (*inst.stack, name), {}
    for copy in names:
        child = _Instance(inst.full(copy), Scope(body_labels, entry=last), params, taken=taken, stack=stack,
                          notes=notes, substituted=substituted)
        entry, last = last, _walk(body, child, last, out)
        out.instances.append(ir.Instance(child.path, name, inst.path, inst.full(local), entry, last, st.span))
        if st.label is not None:  # INSTANCE.LABEL reaches the labelled layers of a labelled instance
            for label, full in child.scope.above.items():
                inst.scope.above[f"{copy}.{label}"] = full
            inst.scope.above[copy] = last
    if st.label is not None:
        inst.scope.above[local] = last
    return last


def _bind(st: Statement, block: BlockDef, inst: _Instance, out: Expansion) -> dict[str, Word] | None:
    """The call's values for the block's parameters, resolved at the call site; None after an error."""
    params = [p.name.text for p in block.params]
    values: dict[str, Word] = {}
    where = f"`{block.name.text}` (line {block.span.line}) takes {', '.join(params) or 'no parameters'}"
    problems = []
    if len(st.args) > len(params):
        extra = st.args[len(params)]
        problems.append(error("E104", f"`{block.name.text}` takes {len(params)} values, got {len(st.args)}",
                              extra.span, where))
    for param, word in zip(params, st.args):
        values[param] = _call_value(word, inst, out)
    for option in st.options:
        key = option.name.text
        if key not in params:
            hint = did_you_mean(key, params) or where
            problems.append(error("E115", f"unknown option `{key}` for block `{block.name.text}`",
                                  option.name.span, hint))
        elif key in values:
            problems.append(error("E107", f"{key} given twice", option.name.span, where))
        else:
            values[key] = _call_value(option.value, inst, out)
    for p in block.params:
        if p.name.text not in values:
            if p.default is None:
                problems.append(error("E103", f"`{block.name.text}` needs a value for {p.name.text}",
                                      st.keyword.span, where))
            else:
                values[p.name.text] = p.default
    out.diagnostics += [_noted(d, inst) for d in problems]
    return None if problems else values


def _call_value(word: Word, inst: _Instance, out: Expansion) -> Word:
    """A value passed to a block: a layer it names becomes a resolved reference, anything else stays a value."""
    if word.kind == "name" and word.text not in inst.params and (word.text in inst.scope.above or
                                                                word.text in ("in", ir.INPUT)):
        name, problem = _reference(word, inst, out)
        if problem is None:
            return Word(name, word.text, "node", word.span)
    if word.kind == "ref" and word.value[-1] not in ("c", "h", "w"):
        name, problem = _reference(word, inst, out)
        if problem is not None:
            out.diagnostics.append(_noted(problem, inst))
            return word._replace(kind="unknown")
        return Word(name, word.text, "node", word.span)
    return _substitute(word, inst, out)


def _noted(diagnostic: Diagnostic, inst: _Instance) -> Diagnostic:
    return diagnostic._replace(notes=inst.notes) if inst.notes else diagnostic
