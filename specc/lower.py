"""Statements to IR: what each keyword and option means, and E1xx diagnostics.

One table, STATEMENTS, says for every keyword which positional arguments and
options it takes, with aliases (the course's `f`, `s`, `p`) and the checker
for each value (specc.values). Lowering normalises once (a kernel `5` becomes
(5, 5), `dense` becomes `fc`) so later passes never branch on how something
was written. Pure Python, no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import ir
from .diagnostics import Diagnostic, did_you_mean, error
from .edges import Scope, inputs, split_from
from .ir import ACTIVATIONS, Span
from .syntax import Option, Statement, Word
from .values import (
    ValueProblem,
    activation,
    any_float,
    boolean,
    choice,
    count,
    fraction,
    input_dims,
    name,
    non_negative,
    padding,
    positive,
    positive_pair,
    rate,
    seed,
    unit,
)


@dataclass(frozen=True)
class Form:
    """What one keyword takes and what it lowers to: the IR class ``node`` (None for
    the statements that are not layers: model, input, train), positional names,
    options, aliases, checkers, and the default-name prefix of unlabelled layers."""

    kind: str
    node: type[ir.Layer] | None
    positional: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    options: dict[str, Callable] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    usage: str = ""
    bare_activation: bool = False  # a trailing `relu` means activation=relu
    prefix: str = ""  # unlabelled layers are named prefix1, prefix2, ... (default: the keyword)
    merge: bool = False  # the positional arguments are references to the layers merged
    fixed: dict[str, object] = field(default_factory=dict)  # IR fields the keyword itself decides


_CONV_OPTIONS = {"filters": count, "kernel": positive_pair, "stride": positive_pair, "padding": padding,
                 "dilation": positive_pair, "groups": count, "bias": boolean, "activation": activation,
                 "slope": any_float}
_POOL_OPTIONS = {"kernel": positive_pair, "stride": positive_pair, "padding": padding}
_FC_OPTIONS = {"units": count, "bias": boolean, "activation": activation, "slope": any_float}
_LETTERS = {"f": "kernel", "k": "kernel", "s": "stride", "p": "padding", "d": "dilation"}

TRAIN_OPTIONS: dict[str, Callable] = {
    "batch": count, "epochs": count,
    "optimizer": choice("sgd", "momentum", "rmsprop", "adam"),
    "lr": positive, "beta": fraction, "beta1": fraction, "beta2": fraction, "eps": positive,
    "decay": non_negative, "l2": non_negative, "seed": seed, "val": fraction,
}

STATEMENTS: dict[str, Form] = {
    "conv": Form("conv", ir.Conv, ("filters", "kernel"), ("filters", "kernel"), _CONV_OPTIONS, _LETTERS,
                 "conv FILTERS KERNEL [stride=S] [padding=P] [ACTIVATION], e.g. `conv 8 5x5 relu`", True),
    "maxpool": Form("maxpool", ir.Pool, ("kernel",), ("kernel",), _POOL_OPTIONS, _LETTERS,
                    "maxpool KERNEL [stride=S], e.g. `maxpool 2x2 stride=2`", prefix="pool", fixed={"op": "max"}),
    "avgpool": Form("avgpool", ir.Pool, ("kernel",), ("kernel",), _POOL_OPTIONS, _LETTERS,
                    "avgpool KERNEL [stride=S], e.g. `avgpool 2x2`", prefix="pool", fixed={"op": "avg"}),
    "globalavgpool": Form("globalavgpool", ir.GlobalPool, usage="globalavgpool", prefix="gpool",
                          fixed={"op": "avg"}),
    "globalmaxpool": Form("globalmaxpool", ir.GlobalPool, usage="globalmaxpool", prefix="gpool",
                          fixed={"op": "max"}),
    "flatten": Form("flatten", ir.Flatten, usage="flatten"),
    "fc": Form("fc", ir.Dense, ("units",), ("units",), _FC_OPTIONS, {}, "fc UNITS [ACTIVATION], e.g. `fc 10 softmax`",
               True),
    "batchnorm": Form("batchnorm", ir.BatchNorm, options={"eps": positive, "momentum": unit},
                      usage="batchnorm [eps=E] [momentum=M]", prefix="bn"),
    "dropout": Form("dropout", ir.Dropout, ("rate",), ("rate",), {"rate": rate}, {},
                    "dropout RATE, e.g. `dropout 0.5`"),
    "add": Form("add", ir.Add, usage="add REF [REF ...], e.g. `add shortcut`", merge=True),
    "concat": Form("concat", ir.Concat, usage="concat REF [REF ...], e.g. `concat b1 b3 b5`", merge=True),
    "multiply": Form("multiply", ir.Multiply, usage="multiply REF [REF ...], e.g. `multiply gate`", merge=True),
    "model": Form("model", None, ("name",), ("name",), {"name": name}, {}, "model NAME"),
    "input": Form("input", None, ("dims",), ("dims",), {"dims": input_dims}, {}, "input HxWxC, e.g. `input 32x32x3`"),
    "train": Form("train", None, options=TRAIN_OPTIONS, usage="train batch=64 epochs=10 optimizer=adam lr=1e-3"),
}
for _fn in ACTIVATIONS:
    STATEMENTS[_fn] = Form("activation", ir.Activation, options={"slope": any_float} if _fn == "leaky_relu" else {},
                           usage=_fn, prefix=_fn, fixed={"function": _fn})
KEYWORD_ALIASES = {"dense": "fc", "bn": "batchnorm"}
@dataclass
class _Bound:
    """A statement's arguments, checked and keyed by canonical option name."""

    values: dict[str, object] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    origin: Option | None = None  # the `from=` option, read by specc.edges
    failed: set[str] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _what(canon: str, written: str) -> str:
    return canon if canon == written else f"{canon} (`{written}`)"


def _set(form: Form, bound: _Bound, canon: str, written: str, word: Word, span: Span) -> None:
    if canon in bound.values or canon in bound.failed:
        code = "E111" if canon == "activation" else "E107"
        first = bound.spans.get(canon)
        where = f" (first at column {first.column})" if first else ""
        bound.diagnostics.append(error(code, f"{_what(canon, written)} given twice{where}", span))
        return
    try:
        bound.values[canon] = form.options[canon](word, _what(canon, written))
    except ValueProblem as problem:
        bound.failed.add(canon)
        bound.diagnostics.append(error(problem.code, problem.message, word.span, problem.help))
    bound.spans[canon] = span


def _bind(form: Form, st: Statement) -> _Bound:
    bound = _Bound()
    keyword = st.keyword.text
    positional = [] if form.merge else list(st.args)  # a merge's arguments are references (specc.edges)
    slots = list(form.positional)
    for word in positional:
        if form.bare_activation and word.kind == "name" and (word is positional[-1] or not slots):
            _set(form, bound, "activation", "activation", word, word.span)
        elif slots:
            slot = slots.pop(0)
            _set(form, bound, slot, slot, word, word.span)
        else:
            bound.diagnostics.append(error("E104", f"`{keyword}` takes no more arguments here: `{word.text}`",
                                           word.span, f"usage: {form.usage}" if form.usage else None))
    for option in st.options:
        written = option.name.text
        canon = form.aliases.get(written, written)
        span = Span(option.name.span.line, option.name.span.column, option.value.span.end_line,
                    option.value.span.end_column)
        if canon not in form.options:
            known = list(form.options) + list(form.aliases)
            hint = did_you_mean(written, known) or (f"`{keyword}` takes: {', '.join(form.options)}"
                                                    if form.options else f"`{keyword}` takes no options")
            message = f"unknown option `{written}` for `{keyword}`"
            bound.diagnostics.append(error("E102", message, option.name.span, hint))
            continue
        _set(form, bound, canon, written, option.value, span)
    missing = [r for r in form.required if r not in bound.values and r not in bound.failed]
    if missing:
        end = Span(st.span.end_line, st.span.end_column, st.span.end_line, st.span.end_column + 1)
        needs = " and ".join(m.upper() for m in missing)
        bound.diagnostics.append(error("E103", f"`{keyword}` needs {needs}", end, f"usage: {form.usage}"))
    return bound


def _keyword_help(word: str) -> str:
    known = list(STATEMENTS) + list(KEYWORD_ALIASES)
    return did_you_mean(word, known) or "statements: " + ", ".join(k for k in STATEMENTS if k not in ACTIVATIONS)


def _build(form: Form, name: str, labelled: bool, inputs: tuple[str, ...], st: Statement,
           bound: _Bound) -> ir.Layer:
    v = dict(bound.values)
    common = dict(kind=form.kind, name=name, labelled=labelled, span=st.span, inputs=inputs, spans=bound.spans)
    if any(r not in v for r in form.required):
        return ir.Invalid(**common, units=v.get("units"), filters=v.get("filters"))
    if form.node is ir.Pool:
        v.setdefault("stride", v["kernel"])
    return form.node(**common, **form.fixed, **v)


def _default_names(entries: list[tuple[Form, Statement]], taken: set[str]) -> list[str]:
    """Unlabelled layers numbered by kind, as the course does (conv1, pool1, relu1 ...)."""
    counters: dict[str, int] = {}
    names = []
    for form, st in entries:
        if st.label is not None:
            names.append(st.label.text)
            continue
        prefix = form.prefix or form.kind
        n = counters.get(prefix, 0) + 1
        while f"{prefix}{n}" in taken:
            n += 1
        counters[prefix] = n
        names.append(f"{prefix}{n}")
        taken.add(names[-1])
    return names


def lower(statements: list[Statement], default_name: str) -> tuple[ir.Model, list[Diagnostic]]:
    """Statements to a Model; its input is None when it is missing or invalid."""
    diagnostics: list[Diagnostic] = []
    model_name, input_shape, input_span = default_name, None, None
    entries: list[tuple[Form, str, Statement, _Bound]] = []
    train, train_spans = {}, {}
    labels: dict[str, Span] = {}
    for index, st in enumerate(statements):
        keyword = KEYWORD_ALIASES.get(st.keyword.text, st.keyword.text)
        form = STATEMENTS.get(keyword)
        if form is None:
            diagnostics.append(error("E101", f"unknown statement `{st.keyword.text}`", st.keyword.span,
                                     _keyword_help(st.keyword.text)))
            continue
        origin = None
        if form.node is not None:
            st, origin, twice = split_from(st)
            diagnostics += twice
        bound = _bind(form, st)
        bound.origin = origin
        diagnostics += bound.diagnostics
        if st.label is not None and form.node is None:
            diagnostics.append(error("E105", f"`{keyword}` cannot carry a label", st.label.span))
        if form.kind == "model":
            if index != 0:
                diagnostics.append(error("E109", "`model` must be the first statement, and only one", st.span))
            model_name = bound.values.get("name", model_name)
        elif form.kind == "input":
            if input_span is not None:
                diagnostics.append(error("E110", f"`input` given twice (first on line {input_span.line})", st.span))
                continue
            if entries:
                first = entries[0][2].span.line
                diagnostics.append(error("E110", f"`input` must come before the first layer (line {first})", st.span,
                                         "move this line up"))
            input_shape, input_span = bound.values.get("dims"), st.span
        elif form.kind == "train":
            for key, value in bound.values.items():
                if key in train:
                    diagnostics.append(error("E107", f"train option `{key}` given twice", bound.spans[key]))
                train[key], train_spans[key] = value, bound.spans[key]
        else:
            if st.label is not None:
                label = st.label.text
                if label in labels:
                    message = f"label `{label}` is used twice (first on line {labels[label].line})"
                    diagnostics.append(error("E108", message, st.label.span, "labels name layers and must be unique"))
                labels.setdefault(label, st.label.span)
            entries.append((form, st.keyword.text, st, bound))
    if input_span is None:
        diagnostics.append(error("E110", "the spec has no `input` statement", Span.at(1),
                                 "add one before the first layer, e.g. `input 32x32x3`"))
    names = _default_names([(f, s) for f, _, s, _ in entries], set(labels))
    layers = _layers(entries, names, {label: span.line for label, span in labels.items()}, diagnostics)
    return ir.Model(model_name, input_shape, input_span or Span.at(1), layers, train, train_spans), diagnostics


def _layers(entries: list[tuple[Form, str, Statement, _Bound]], names: list[str], labels: dict[str, int],
            diagnostics: list[Diagnostic]) -> tuple[ir.Layer, ...]:
    """The IR layers with their edges: a plain stack is a chain, each layer reading the one above."""
    scope, layers, previous = Scope(labels), [], ir.INPUT
    for (form, _, st, bound), layer_name in zip(entries, names):
        found, problems = inputs(st, form.merge, bound.origin, previous, scope)
        diagnostics += problems
        if found is None:  # a wrong reference: the layer's input is unknown, not a cascade of errors
            layers.append(ir.Invalid(kind=form.kind, name=layer_name, labelled=st.label is not None, span=st.span,
                                     spans=bound.spans))
        else:
            layers.append(_build(form, layer_name, st.label is not None, found, st, bound))
        if st.label is not None:
            scope.above.setdefault(st.label.text, layer_name)
        previous = layer_name
    return tuple(layers)
