"""Statements to IR: what each keyword and option means, and E1xx diagnostics.

specc.lower.statements's STATEMENTS says for every keyword which positional arguments and
options it takes, with aliases (the course's `f`, `s`, `p`) and the checker
for each value (specc.kinds.values); the layer kinds' are in specc.kinds. Lowering normalises once (a kernel `5` becomes
(5, 5), `dense` becomes `fc`) so later passes never branch on how something
was written. Pure Python, no torch.
"""

from __future__ import annotations

from typing import Any

from .. import ir
from ..diagnostics import Diagnostic, Span, did_you_mean, error
from ..ir import NOTHING
from ..kinds import ACTIVATIONS, Invalid
from ..kinds.dropout import scheduled
from ..kinds.values import READS_TEXT, ValueProblem, as_signal
from ..syntax import Statement, Word
from ..syntax.nodes import has_value_of_kind
from .expand import expand
from .expansion import Expansion, Line, shadowed
from .statements import KEYWORD_ALIASES, STATEMENTS, Form


class _Bound:
    """A statement's arguments, checked and keyed by canonical option name. Read-only once
    bound: the copies of a repeated statement share one (specc.lower.expansion.Line.shared)."""

    __slots__ = ("values", "spans", "failed", "diagnostics", "computed")

    def __init__(self, computed: bool = False) -> None:
        # Each checked by its option's reader (specc.kinds.values); the IR classes take them by field name.
        self.values: dict[str, Any] = {}
        self.spans: dict[str, Span] = {}
        self.failed: set[str] = set()
        self.diagnostics: list[Diagnostic] = []
        self.computed = computed  # a value is computed from shapes (`in.c*6`): specc.infer.computed resolves it


def _what(canon: str, written: str) -> str:
    return canon if canon == written else f"{canon} (`{written}`)"


def _set(form: Form, bound: _Bound, canon: str, written: str, word: Word, span: Span, layer: bool) -> None:
    if word.kind == "unknown":  # a reference already reported where it was resolved
        bound.failed.add(canon)
        bound.spans[canon] = span
        return
    if canon in bound.values or canon in bound.failed:
        code = "E111" if canon == "activation" else "E107"
        first = bound.spans.get(canon)
        where = f" (first at column {first.column})" if first else ""
        bound.diagnostics.append(error(code, f"{_what(canon, written)} given twice{where}", span))
        return
    try:
        bound.values[canon] = _value(form, canon, word, _what(canon, written), layer)
    except ValueProblem as problem:
        bound.failed.add(canon)
        bound.diagnostics.append(error(problem.code, problem.message, word.span, problem.help))
    bound.spans[canon] = span


def _value(form: Form, option: str, word: Word, what: str, layer: bool) -> object:
    """A checked value; one computed from shapes (`in.c*6`) is resolved later, by specc.infer.computed,
    and only a layer's: `model`, `input` and `train` have no shapes to compute from."""
    if word.kind not in _NOT_WRITTEN_VALUES or form.options[option] in READS_TEXT:
        return form.options[option](word, what)
    if word.kind in ("dim", "expr"):
        if layer:
            return ir.Deferred(word, form.word, option, what)
        raise ValueProblem("E105", f"{what} must be written out, got `{word.text}`",
                           "computed values such as `in.c*6` are for the arguments of layers")
    if word.kind == "node":
        raise ValueProblem("E105", f"{what} must be a value, got the layer `{word.text}`",
                           f"write `{word.text}.c` for its channels, `.h` and `.w` for its height and width")
    raise ValueProblem("E105", f"{what} must be a value, got `{word.text}`",  # a "ref"
                       "a reference is read with `from=`; its channels are `REF.c`")


_NOT_WRITTEN_VALUES = frozenset(("dim", "expr", "node", "ref"))  # the kinds not passed to a checker


def _bind(form: Form, st: Statement, layer: bool = True) -> _Bound:
    bound = _Bound(computed=layer and has_value_of_kind(st, ("dim", "expr")))
    keyword = st.keyword.text
    positional = () if form.merge else st.args  # a merge's arguments are references (specc.lower.scope)
    slots = form.positional
    filled = 0  # of the slots
    for word in positional:
        if form.bare_activation and word.kind == "name" and (word is positional[-1] or filled == len(slots)):
            _set(form, bound, "activation", "activation", word, word.span, layer)
        elif filled < len(slots):
            slot = slots[filled]
            filled += 1
            _set(form, bound, slot, slot, word, word.span, layer)
        else:
            bound.diagnostics.append(error("E104", f"`{keyword}` takes no more arguments here: `{word.text}`",
                                           word.span, f"usage: {form.usage}" if form.usage else None))
    for option in st.options:
        written = option.name.text
        canon = form.aliases.get(written, written)
        span = Span(option.name.line, option.name.column, option.value.line, option.value.end_column)
        if canon not in form.options:
            known = list(form.options) + list(form.aliases)
            hint = did_you_mean(written, known) or (f"`{keyword}` takes: {', '.join(form.options)}"
                                                    if form.options else f"`{keyword}` takes no options")
            message = f"unknown option `{written}` for `{keyword}`"
            bound.diagnostics.append(error("E102", message, option.name.span, hint))
            continue
        _set(form, bound, canon, written, option.value, span, layer)
    if form.instead:
        _instead(form, bound, keyword)
    missing = [r for r in form.required if r not in bound.values and r not in bound.failed]
    if missing:
        end = Span(st.span.end_line, st.span.end_column, st.span.end_line, st.span.end_column + 1)
        needs = " and ".join(m.upper() for m in missing)
        bound.diagnostics.append(error("E103", f"`{keyword}` needs {needs}", end, f"usage: {form.usage}"))
    return bound


def _instead(form: Form, bound: _Bound, keyword: str) -> None:
    """An option that stands for others (a pooling's `out=`): those written beside it are E107, and
    the arguments it replaces are no longer required (they count as failed, so the layer is not built
    from a mix)."""
    for option, replaced in form.instead.items():
        if option not in bound.values and option not in bound.failed:
            continue
        for other in replaced:
            if other in bound.values or other in bound.failed:
                bound.values.pop(other, None)
                written = f"a {other}" if other in form.positional else f"{other}="
                bound.diagnostics.append(error(
                    "E107", f"`{keyword}` takes {written} or {option}=, not both: {option}= sizes the windows itself",
                    bound.spans.get(other, bound.spans[option]),
                    f"write either {other} or {option}=, not both"))
            bound.failed.add(other)


def _build(line: Line, bound: _Bound) -> ir.Layer:
    form, v = line.form, bound.values  # shared by copies: not to be changed here
    common: dict[str, Any] = {
        "kind": form.kind, "name": line.name, "labelled": line.labelled, "span": line.statement.span,
        "inputs": line.inputs or (), "block": line.block, "notes": line.notes,
        "spans": bound.spans or NOTHING}  # one shared empty mapping for a `batchnorm` line
    if line.sharing is not None:  # `share=`: kept in a mapping of its own (ir.Layer.shares)
        common["spans"] = {**bound.spans, "share": line.sharing}
    variant = form.variant if form.variant is not None and any(option in v for option in form.instead) else None
    if line.inputs is None or (variant is None and any(r not in v for r in form.required)):
        return Invalid(**{**common, "spans": bound.spans or NOTHING}, units=v.get("units"), filters=v.get("filters"))
    if form.same_as and variant is None:  # a pooling's stride is its kernel unless written
        v = {**{name: v[other] for name, other in form.same_as.items()}, **v}
    node = variant or form.node
    assert node is not None  # a layer's Form has its Kind's class (specc.kinds fills it in)
    return node(**common, **form.fixed, **v)


def lower(items: list, default_name: str) -> tuple[ir.Model, list[Diagnostic]]:
    """Statements and blocks to a Model; its input is None when it is missing or invalid.

    Consumes ``items`` (the list is left empty): each layer is built as soon as
    expansion makes its line, and each statement is let go once its layers are
    built, so that a large spec never holds all its statements, all its lines and
    all its layers at once (bench/RESULTS.md, issue 16)."""
    first_item = items[0] if items else None
    layers = _Layers()
    expansion = expand(items, layers.take)
    diagnostics = expansion.diagnostics
    model_name, inputs = default_name, list[ir.Input]()
    first_layer = layers.first_line
    train, train_spans = {}, {}
    for st in expansion.others:
        keyword = KEYWORD_ALIASES.get(st.keyword.text, st.keyword.text)
        form = STATEMENTS.get(keyword)
        if form is None:
            known = [*STATEMENTS, *KEYWORD_ALIASES, *expansion.blocks]
            hint = did_you_mean(st.keyword.text, known) or "statements: " + ", ".join(
                k for k in STATEMENTS if k not in ACTIVATIONS)
            diagnostics.append(error("E101", f"unknown statement `{st.keyword.text}`", st.keyword.span, hint))
            continue
        bound = _bind(form, st, layer=False)
        diagnostics += bound.diagnostics
        if st.label is not None and form.kind != "input":
            diagnostics.append(error("E105", f"`{keyword}` cannot carry a label", st.label.span))
        if form.kind == "model":
            if st is not first_item:
                diagnostics.append(error("E109", "`model` must be the first statement, and only one", st.span))
            model_name = bound.values.get("name", model_name)
        elif form.kind == "input":
            _input(st, bound, inputs, first_layer, diagnostics)
        elif form.kind != "output":  # `output`'s references are resolved by the expansion
            for key, value in bound.values.items():
                if key in train:
                    diagnostics.append(error("E107", f"train option `{key}` given twice", bound.spans[key]))
                train[key], train_spans[key] = value, bound.spans[key]
    if not inputs:
        diagnostics.append(error("E110", "the spec has no `input` statement", Span.at(1),
                                 "add one before the first layer, e.g. `input 32x32x3`"))
    diagnostics += layers.diagnostics
    built = scheduled(layers.built, train)  # a bare `droppath`'s rate, from `train droppath=`
    first = inputs[0] if inputs else ir.Input(ir.INPUT, None, Span.at(1))
    model = ir.Model(model_name, first.shape, first.span, tuple(built), train, train_spans,
                     blocks=_block_uses(expansion), instances=tuple(expansion.instances),
                     deferred=frozenset(layers.deferred), inputs=tuple(inputs),
                     declared_outputs=tuple(expansion.outputs), owners=frozenset(layers.owners))
    return model, diagnostics


class _Layers:
    """The layers, built one by one as expansion hands over their lines; the names of
    those with values computed from shapes; the diagnostics of their arguments.
    A statement that several lines share (the copies of a repeat or of a block body)
    is bound once."""

    __slots__ = ("built", "deferred", "diagnostics", "shared", "first_line", "owners")

    def __init__(self) -> None:
        self.built: list[ir.Layer] = []
        self.deferred: list[str] = []
        self.diagnostics: list[Diagnostic] = []
        self.shared: dict[int, tuple[Statement, _Bound]] = {}  # by id of the statement, kept alive here
        self.first_line: int | None = None  # where the first layer is written (its call, for a block's)
        self.owners: set[str] = set()  # the layers others share (`share=`)

    def take(self, line: Line) -> None:
        if self.first_line is None:
            self.first_line = (line.notes[-1].span if line.notes else line.statement.span).line
        bound = self.shared.get(id(line.statement), (None, None))[1] if line.shared else None
        if bound is None:
            bound = _bind(line.form, line.statement)
            if line.shared:
                self.shared[id(line.statement)] = line.statement, bound
        if bound.diagnostics:
            self.diagnostics += [d._replace(notes=line.notes) for d in bound.diagnostics] if line.notes \
                else bound.diagnostics
        self.built.append(_build(line, bound))
        if line.sharing is not None:
            self.owners.add(line.sharing.owner)
        if bound.computed:
            self.deferred.append(line.name)


def _input(st: Statement, bound: _Bound, inputs: list[ir.Input], first_layer: int | None,
           diagnostics: list[Diagnostic]) -> None:
    """One `input` line: the first stands above every layer; several need labels but one."""
    name = st.label.text if st.label is not None else ir.INPUT
    twice = next((i for i in inputs if i.name == name), None)
    if twice is not None:  # a label used twice is E108, where labels are gathered
        if name == ir.INPUT:
            diagnostics.append(error("E110", f"`input` given twice (first on line {twice.span.line})", st.span,
                                     "label each input of a network of several (`a: input 96x96x3`)"
                                     if st.label is None else None))
        return
    if not inputs and first_layer is not None and first_layer < st.span.line:
        diagnostics.append(error("E110", f"`input` must come before the first layer (line {first_layer})",
                                 st.span, "move this line up"))
    inputs.append(ir.Input(name, _input_shape(bound, st, diagnostics), st.span))


def _input_shape(bound: _Bound, st: Statement, diagnostics: list[Diagnostic]) -> tuple[int, ...] | None:
    """The input's shape; `layout=lc` reads two numbers as length x channels (a 1-D signal)."""
    shape, layout = bound.values.get("dims"), bound.values.get("layout")
    if shape is None:
        return None
    # the sizes as written: `input 14x1` or `input dims=14x1`
    word = st.args[0] if st.args else next(o.value for o in st.options if o.name.value == "dims")
    if layout in ("hwc", "dhwc") and (len(shape) == 4) != (layout == "dhwc"):
        want = "DxHxWxC" if layout == "dhwc" else "HxWxC"
        diagnostics.append(error("E105", f"layout={layout} takes the input as {want}, got `{word.text}`", word.span))
        return None
    if layout != "lc":
        return shape
    try:
        return as_signal(shape, word)
    except ValueProblem as problem:
        diagnostics.append(error(problem.code, problem.message, word.span, problem.help))
        return None


def _block_uses(expansion: Expansion) -> tuple[ir.BlockUse, ...]:
    return tuple(ir.BlockUse(name, block.span, block.name.span, name in expansion.called,
                             tuple((p.name.text, p.name.span, p.name.text in expansion.used.get(name, ()))
                                   for p in block.params), shadowed(block, STATEMENTS, KEYWORD_ALIASES))
                 for name, block in expansion.blocks.items())
