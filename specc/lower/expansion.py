"""The state of an expansion and the values of a body line at one call.

``Line`` is one layer of the flat graph as lowering needs it, ``Expansion``
what expanding a spec gives lowering besides its lines, ``Instance`` a body
being expanded (its path, parameters, input and naming state). The functions
give a line's values at one call: parameters replaced by the call's values,
`X.c`-style sizes and layer references resolved in the instance's scope
(specc.lower.scope.Scope). specc.lower.expand walks the spec with them. No torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

from .. import ir
from ..diagnostics import Diagnostic, Note, Span
from ..kinds.values import OWN_WORDS
from ..record import NamedTuple
from ..syntax import BlockDef, Expr, Option, Statement, Word
from ..syntax.nodes import has_value_of_kind
from .budget import Sizes
from .scope import Scope
from .statements import Form


class Line(NamedTuple):
    """One layer of the expanded graph, as lowering needs it."""

    form: Form
    statement: Statement  # parameters substituted; `from=` removed; merge operands resolved
    name: str
    labelled: bool
    inputs: tuple[str, ...] | None  # None where a reference was wrong (its output is then unknown)
    block: str | None = None  # the instance path, e.g. "layer1.0"; None at the top level
    notes: tuple[Note, ...] = ()  # where this body was called from, innermost first
    shared: bool = False  # other lines (copies) may hold this very statement: lowering binds it once
    sharing: ir.Sharing | None = None  # `share=`: the layer whose parameters it uses


class Shared(NamedTuple):
    """A block instance whose layers share those of another: each layer PATH.X shares REF_PATH.X."""

    path: str
    ref_path: str
    sharing: ir.Sharing  # its owner is filled in per layer


class Expansion:
    """What expanding a spec gives lowering besides its lines, filled in as the walk goes."""

    __slots__ = ("take", "others", "diagnostics", "used", "blocks", "called", "instances", "sizes", "layers",
                 "spent", "unconditioned", "first_input", "input_names", "outputs",
                 "output_line", "output_late", "owners", "calls")

    def __init__(self, take: Callable[[Line], None]) -> None:
        self.take = take  # lowering's: builds the layer of each Line, in order
        self.others: list[Statement] = []  # model, input, train and unknown statements
        self.diagnostics: list[Diagnostic] = []
        self.used: dict[str, set[str]] = {}  # block -> parameters its calls bound and read
        self.blocks: dict[str, BlockDef] = {}
        self.called: set[str] = set()
        self.instances: list[ir.Instance] = []
        self.sizes = Sizes(self.blocks)
        self.layers = 0  # expanded so far: copies of a repeat= and layers of instances (specc.lower.budget)
        self.spent = False  # a statement would have passed the budget (E118): nothing more is expanded
        # Body lines without their `if=`, by id of the written line: made once, and alive as long as
        # the written line, since later steps key their caches by the identity of a statement.
        self.unconditioned: dict[int, Statement] = {}
        self.first_input: Statement | None = None  # the first `input` line: layers start from it, wherever it is
        self.outputs: list[str] = []  # the layers the first `output` line names, resolved, in order
        self.input_names: set[str] = set()  # the names of the network's inputs
        self.output_line: Statement | None = None  # the first `output` line
        self.output_late = False  # a statement follows the `output` line (E122, reported once)
        # `share=` (specc.lower.share): each sharing layer's owner, each instance's block and arguments.
        self.owners: dict[str, str] = {}
        self.calls: dict[str, tuple[str, dict[str, Word]]] = {}


class Instance:
    """A body being expanded: its path, parameters, input and naming state."""

    __slots__ = ("path", "scope", "params", "counters", "taken", "stack", "notes", "substituted", "shared")

    def __init__(self, path: str | None, scope: Scope, params: dict[str, Word], taken: set[str],
                 stack: tuple[str, ...] = (), notes: tuple[Note, ...] = (),
                 substituted: dict[int, Statement] | None = None) -> None:
        self.path, self.scope, self.params, self.taken = path, scope, params, taken
        self.counters: dict[str, int] = {}
        self.stack = stack  # the blocks being expanded, outermost first (for recursion)
        self.notes = notes
        # Body statements with the call's parameters substituted, by id of the written statement:
        # one dict for all copies of a call, which see the same parameters (see substituted_once).
        self.substituted = {} if substituted is None else substituted
        self.shared: Shared | None = None  # set when the call (or one it is in) has share=

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


def reference(word: Word, inst: Instance, out: Expansion) -> tuple[str | None, Diagnostic | None]:
    """A layer reference: a label above, `input`, `in` in a body, or a parameter passed a layer."""
    if word.kind == "name" and word.text in inst.params:
        bound = inst.params[word.text]
        out.used.setdefault(inst.stack[-1], set()).add(word.text)
        if bound.kind == "node":
            return str(bound.value), None
        word = bound._replace(span=word.span)
    if word.kind == "node":
        return str(word.value), None
    if word.kind == "unknown":  # reported where it was read (E120): no second message
        return None, None
    return inst.scope.resolve(word, word.span.line, closed=inst.path is not None)


def substituted_once(written: Statement, st: Statement, form: Form, inst: Instance,
                      out: Expansion) -> tuple[Statement, bool]:
    """``st`` (``written`` less `repeat=` and `from=`) substituted, and whether the copies share it.

    Every copy of a call sees the same parameters, so a body statement that reads no
    layer's shape (`conv1.c`, resolved in each copy's own scope) substitutes to the
    same statement in each: it is made once per call, and its copies share it."""
    if inst.path is None:
        return _substituted(st, form, inst, out), False
    done = inst.substituted.get(id(written))
    if done is not None:
        return done, True
    substituted = _substituted(st, form, inst, out)
    shared = not any(reads_shapes(w) for w in _values(st, form.merge))
    if shared:
        inst.substituted[id(written)] = substituted  # the body (and so `written`) outlives the expansion
    return substituted, shared


def _substituted(st: Statement, form: Form, inst: Instance, out: Expansion) -> Statement:
    """The statement with its parameters replaced by the call's values (spans stay on the body line)."""
    if inst.path is None and not has_value_of_kind(st, ("ref", "expr")):
        return st
    args = st.args if form.merge else tuple(substitute(w, inst, out) for w in st.args)
    options = tuple(o if _own_word(form, o) else _substitute_option(o, inst, out) for o in st.options)
    if _same(args, st.args) and _same(options, st.options):
        return st  # nothing to substitute: the lines share the written statement
    return Statement(st.label, st.keyword, args, options, st.span)


def _substitute_option(option: Option, inst: Instance, out: Expansion) -> Option:
    value = substitute(option.value, inst, out)
    return option if value is option.value else Option(option.name, value)


def _own_word(form: Form, option: Option) -> bool:
    """Whether the option's value is one of the option's own words (`over=c`, `padding=same`, `mode=nearest`,
    `bias=true`): such a word keeps its meaning in a body, even where a parameter has the same name."""
    value = option.value
    if value.kind != "name":
        return False
    name = option.name.text
    checker = form.options.get(form.aliases.get(name, name))
    return checker is not None and value.text in OWN_WORDS.get(checker, ())


def shadowed(block: BlockDef, forms: Mapping[str, Form],
             aliases: Mapping[str, str]) -> tuple[tuple[str, str, Span], ...]:
    """Where the body writes a parameter's name as an option's own word (`over=c` in a block with a parameter `c`):
    (parameter, the option as written, its span), the first place of each parameter."""
    params = {p.name.text for p in block.params}
    found: dict[str, tuple[str, str, Span]] = {}
    for st in block.body:
        form = forms.get(aliases.get(st.keyword.text, st.keyword.text))
        if form is None:
            continue
        for option in st.options:
            name = option.value.text
            if name in params and name not in found and _own_word(form, option):
                found[name] = (name, f"{option.name.text}={name}", option.value.span)
    return tuple(found.values())


def _same(these: tuple, those: tuple) -> bool:
    return all(a is b for a, b in zip(these, those))


def _values(st: Statement, merge: bool) -> list[Word]:
    """The words of a statement that are values (a merge's arguments are references)."""
    return [*(() if merge else st.args), *(o.value for o in st.options)]


def reads_shapes(word: Word) -> bool:
    """Whether substituting the word resolves a layer reference (`conv1.c`), which each copy does in its scope."""
    if word.kind == "expr":
        expr = word.value
        assert isinstance(expr, Expr)  # the value of a word of kind "expr"
        return reads_shapes(expr.left) or reads_shapes(expr.right)
    return word.kind == "ref"


def substitute(word: Word, inst: Instance, out: Expansion) -> Word:
    """A value word with parameters replaced and `X.c`-style references resolved to a full layer name."""
    if word.kind == "name" and word.text in inst.params:
        out.used.setdefault(inst.stack[-1], set()).add(word.text)
        bound = inst.params[word.text]
        return Word(bound.value, bound.text, bound.kind, word.span)
    if word.kind == "expr":
        expr = word.value
        assert isinstance(expr, Expr)  # the value of a word of kind "expr"
        left, right = substitute(expr.left, inst, out), substitute(expr.right, inst, out)
        if left is expr.left and right is expr.right:
            return word
        return Word(Expr(expr.op, left, right), word.text, word.kind, word.span)
    if word.kind == "ref" and _parts(word)[-1] in ("c", "h", "w"):
        parts = _parts(word)
        target = Word(".".join(parts[:-1]), ".".join(parts[:-1]), "name", word.span)
        name, problem = reference(target, inst, out)
        if problem is not None:
            out.diagnostics.append(noted(problem, inst))
            return word._replace(kind="unknown")
        return word._replace(value=(name, parts[-1]), kind="dim")
    return word


def _parts(word: Word) -> tuple[str, ...]:
    """A "ref" word's value: the dotted name's parts (`conv1.c`: conv1, c)."""
    return cast("tuple[str, ...]", word.value)


def call_value(word: Word, inst: Instance, out: Expansion) -> Word:
    """A value passed to a block: a layer it names becomes a resolved reference, anything else stays a value."""
    if word.kind == "name" and word.text not in inst.params and (word.text in inst.scope.above or
                                                                word.text in ("in", ir.INPUT)):
        name, problem = reference(word, inst, out)
        if problem is None:
            return Word(name, word.text, "node", word.span)
    if word.kind == "ref" and _parts(word)[-1] not in ("c", "h", "w"):
        name, problem = reference(word, inst, out)
        if problem is not None:
            out.diagnostics.append(noted(problem, inst))
            return word._replace(kind="unknown")
        return Word(name, word.text, "node", word.span)
    return substitute(word, inst, out)


def noted(diagnostic: Diagnostic, inst: Instance) -> Diagnostic:
    return diagnostic._replace(notes=inst.notes) if inst.notes else diagnostic
