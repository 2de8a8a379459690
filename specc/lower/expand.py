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
What a statement would make is known before it is made (specc.lower.budget): past
the budget, expansion stops (E118), and calls nest at most 32 deep (E119).
No torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import cast

from .. import ir
from ..diagnostics import Diagnostic, Note, did_you_mean, error
from ..kinds.values import shown
from ..syntax import BlockDef, Option, Statement, Word
from .budget import MAX_DEPTH, MAX_LAYERS, Size, call_size, crossing, over, repeat_option, too_deep, whole
from .expansion import (
    Expansion,
    Instance,
    Line,
    call_value,
    noted,
    reads_shapes,
    reference,
    substitute,
    substituted_once,
)
from .scope import Scope, split_from
from .share import call_sharing, line_sharing, owner_in, split_share
from .statements import KEYWORD_ALIASES, STATEMENTS, Form


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
    inputs = [st for st in statements if KEYWORD_ALIASES.get(st.keyword.text, st.keyword.text) == "input"]
    labelled = any(st.label is not None for st in inputs)  # then `input` names only an unlabelled input
    top = Instance(None, Scope(labels, named_input=not labelled), {}, set(labels))
    first = inputs[0].label.text if inputs and inputs[0].label is not None else ir.INPUT
    out.first_input = inputs[0] if inputs else None
    out.input_names = {st.label.text if st.label is not None else ir.INPUT for st in inputs}
    _walk(_consumed(statements), top, first, out)
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


def _walk(statements: Iterable[Statement], inst: Instance, previous: str, out: Expansion) -> str:
    """Expand a body (or the top level) reading ``previous`` first; returns the last layer's name."""
    for st in statements:
        # if=, repeat=, from= and share= are options expansion takes off a line; most lines have none
        taken = bool(st.options) and not _TAKEN.isdisjoint([o.name.text for o in st.options])
        if taken and not out.spent:
            st, kept = _condition(st, inst, out)
            if not kept:
                previous = _left_out(st, inst, previous, out)
                continue
        keyword = KEYWORD_ALIASES.get(st.keyword.text, st.keyword.text)
        form = STATEMENTS.get(keyword)
        if out.output_line is not None and inst.path is None and keyword != "output":
            _after_output(st, out)
        if keyword in out.blocks and form is None:
            previous = previous if out.spent else _call(st, out.blocks[keyword], inst, previous, out)
        elif form is not None and form.node is not None:
            previous = previous if out.spent else _layer_lines(st, form, inst, previous, out, taken)
        elif inst.path is None:
            out.others.append(st)
            if keyword == "output":
                _output(st, inst, out)
            if keyword == "input":  # the first layer line after an input reads it
                name = st.label.text if st.label is not None else ir.INPUT
                if st is not out.first_input:  # the first is read from the start, even below a layer (E110)
                    previous = name
                if name != ir.INPUT or not inst.scope.named_input:
                    inst.scope.above[name] = name
                out.input_names.add(name)
            elif st.label is not None:  # refused where it is lowered: readers of it are told nothing more
                inst.scope.rejected.add(st.label.text)
        else:
            if st.label is not None:
                inst.scope.rejected.add(st.label.text)
            what = f"`{st.keyword.text}`"
            hint = (_TOP_LEVEL.get(keyword, "model, input and train are top-level statements") if form is not None else
                    did_you_mean(st.keyword.text, [*STATEMENTS, *out.blocks]))
            out.diagnostics.append(noted(error("E101", f"unknown statement {what} in a block body"
                                                if form is None else f"{what} cannot appear in a block body",
                                                st.keyword.span, hint), inst))
    return previous


_TAKEN = frozenset(("if", "repeat", "from", "share"))

_TOP_LEVEL = {"output": "`output` names the network's outputs, once, as the last line of the file: to return a "
                         "layer of a block, label the call and the layer and write `output CALL.LABEL` there"}


def _output(st: Statement, inst: Instance, out: Expansion) -> None:
    """The `output` line (spec-io §2): its references resolved in the top-level scope, where every
    label above it is known. A second one is reported and left out."""
    if out.output_line is not None:
        first = out.output_line.span.line
        out.diagnostics.append(error("E122", f"`output` given twice (first on line {first})", st.keyword.span,
                                     "name every output on one line: `output head1 head2`"))
        return
    out.output_line = st
    if not st.args:
        out.diagnostics.append(error("E103", "`output` needs the layers it returns", st.keyword.span,
                                     "usage: output REF [REF ...], e.g. `output head1 head2`"))
    if out.spent:
        return
    for word in st.args:
        name, problem = reference(word, inst, out)
        if problem is not None:
            out.diagnostics.append(problem)
        elif name is None:
            continue  # reported where it was defined
        elif name not in out.input_names and name not in out.outputs:
            out.outputs.append(name)
        else:
            twice = name in out.outputs
            out.diagnostics.append(error(
                "E122", f"`{word.text}` is named twice in `output`" if twice else
                f"`output` names layers, and `{word.text}` is the network's input", word.span,
                "each output once, in the order forward returns them" if twice else
                "name the layers whose values the network returns"))


def _after_output(st: Statement, out: Expansion) -> None:
    """A statement below the `output` line: reported once, at the `output` line."""
    line = out.output_line
    if line is None or out.output_late:
        return
    out.output_late = True
    out.diagnostics.append(error("E122", f"`output` must be the last statement (line {st.span.line} follows it)",
                                 line.keyword.span, "move the `output` line to the end of the file"))


def _repeat(st: Statement, inst: Instance, out: Expansion) -> tuple[Statement, int | None]:
    """The statement without `repeat=`, and the count: None when absent or wrong (one layer, unnumbered);
    a written `repeat=1` numbers its one copy `LABEL.0`, as the contract says for every N. A count
    past the budget is returned for the caller to refuse (E118), with what it would make."""
    found = repeat_option(st)
    if found is None:
        return st, None
    again = [o for o in st.options if o.name.text == "repeat" and o is not found]
    out.diagnostics += [noted(error("E107", f"repeat given twice (first at column {found.name.column})",
                                     o.name.span, "a line or call has one count of copies"), inst) for o in again]
    st = st._replace(options=tuple(o for o in st.options if o.name.text != "repeat"))
    count = whole(substitute(found.value, inst, out))
    if found.value.kind == "unknown":  # reported where it was read (E120)
        return st, None
    if count is None or count < 1:
        message = f"repeat must be a whole number from 1 to {MAX_LAYERS:,}, got `{shown(found.value.text)}`"
        out.diagnostics.append(noted(error("E106", message, found.value.span,
                                            "repeat=N makes N copies in a chain; leave it out for one"), inst))
        return st, None
    return st, count


IF_HELP = "`if=PARAM` keeps a line of a block body when the parameter is true: `conv e 1x1 if=expand`"


def _condition(st: Statement, inst: Instance, out: Expansion) -> tuple[Statement, bool]:
    """The statement without `if=`, and whether it stays: `if=PARAM` inside a block, PARAM a
    parameter bound to `true` or `false` (contract part 3, §5). A misused `if=` is reported
    and the line kept, so that its other mistakes are reported too."""
    found = [o for o in st.options if o.name.text == "if"]
    if not found:
        return st, True
    written, unconditioned = st, out.unconditioned.get(id(st))
    if unconditioned is None:
        unconditioned = out.unconditioned[id(written)] = written._replace(
            options=tuple(o for o in written.options if o.name.text != "if"))
    st = unconditioned
    problems = [error("E107", "if given twice", o.name.span, IF_HELP) for o in found[1:]]
    condition = found[0].value
    span = found[0].name.span._replace(end_column=condition.end_column)
    kept = True
    if inst.path is None:
        problems.append(error("E102", "`if=` is for the lines of a block body", span,
                              "at the top level, leave the line out or keep it; in a block, `if=PARAM`"))
    elif condition.kind != "name" or condition.text not in inst.params:
        params = [name for name in inst.params]
        problems.append(error("E105", f"`if=` names a parameter of block `{inst.stack[-1]}`, got "
                              f"`{shown(condition.text)}`", condition.span,
                              did_you_mean(condition.text, params) or
                              f"its parameters: {', '.join(params) or 'none'}; {IF_HELP}"))
    else:
        out.used.setdefault(inst.stack[-1], set()).add(condition.text)
        bound = inst.params[condition.text]
        if bound.kind == "name" and bound.value in ("true", "false"):
            kept = bound.value == "true"
        else:
            problems.append(error("E105", f"`if={condition.text}`: `{condition.text}` must be `true` or `false`, "
                                  f"got `{shown(bound.text)}`", condition.span,
                                  f"pass `{condition.text}=true` or `{condition.text}=false` to the call"))
    out.diagnostics += [noted(d, inst) for d in problems]
    return st, kept


def _left_out(st: Statement, inst: Instance, previous: str, out: Expansion) -> str:
    """A line `if=` leaves out passes its input on (`from=`, else the line above),
    and its label names that input. Its parameters count as read."""
    _, origin, _ = split_from(st)
    passed = previous
    if origin is not None:
        name, problem = reference(origin.value, inst, out)
        if problem is not None:
            out.diagnostics.append(noted(problem, inst))
        elif name is not None:
            passed = name
    words = [*st.args, *(o.value for o in st.options)]
    read = {w.text for w in words if w.kind == "name"} | \
        {cast("tuple[str, ...]", w.value)[0] for w in words if w.kind == "ref"}  # a ref's value: its dotted parts
    out.used.setdefault(inst.stack[-1], set()).update(read & inst.params.keys())
    if st.label is not None:
        inst.scope.above[st.label.text] = passed
    return passed


def _layer_lines(st: Statement, form: Form, inst: Instance, previous: str, out: Expansion, taken: bool) -> str:
    """The layers of one line (its copies, with `repeat=`); ``taken``: whether it has an option of
    _TAKEN (without, there is nothing to take off: a line of a long stack saves the looks)."""
    written = st
    st, copies = _repeat(st, inst, out) if taken else (st, None)
    made = copies if copies is not None else 1  # a line written out counts as much as a copy
    if not _affordable(written, Size(made, 0), inst, out):
        return previous
    out.layers += made
    st, origin, twice = split_from(st) if taken else (st, None, None)
    if twice:
        out.diagnostics += [noted(d, inst) for d in twice]
    st, share = split_share(st, inst, out) if taken else (st, None)
    local = st.label.text if st.label is not None else inst.default_name(form.prefix or form.kind)
    reads, problems = _inputs(st, form.merge, origin, previous, inst, out)
    out.diagnostics += problems
    st, shared = substituted_once(written, st, form, inst, out)
    labelled = st.label is not None  # only labels are references: a default name moves when a line is inserted
    if copies is None:
        name = inst.full(local)
        sharing = line_sharing(share, name, False, inst, out) if share is not None else None
        if inst.shared is not None:  # in an instance that shares: the same layer of REF's instance
            sharing = owner_in(inst.shared, name, out)
        out.take(Line(form, st, name, labelled, reads, inst.path, inst.notes, shared, sharing))
        if labelled:
            inst.scope.above[local] = name
        return name
    names = [f"{local}.{i}" for i in range(copies)]
    full = [inst.full(name) for name in names]
    if share is not None:
        line_sharing(share, full[0], True, inst, out)  # refused: the copies would be one layer
    for index, name in enumerate(full):
        first = reads if index == 0 else (full[index - 1],)
        sharing = owner_in(inst.shared, name, out) if inst.shared is not None else None
        out.take(Line(form, st, name, labelled, first, inst.path, inst.notes, True, sharing))
    if labelled:
        inst.scope.above[local] = full[-1]
        inst.scope.above.update(zip(names, full))
    return full[-1]


def _affordable(written: Statement, size: Size, inst: Instance, out: Expansion,
                notes: tuple[Note, ...] = ()) -> bool:
    """Whether the budget allows what a statement would make; if not, E118 and nothing more is expanded."""
    if not over(size, out.layers, len(out.instances)):
        return True
    out.diagnostics.append(crossing(written, size, out.layers, len(out.instances), (*notes, *inst.notes)))
    out.spent = True
    return False


def _inputs(st: Statement, merge: bool, origin: Option | None, previous: str, inst: Instance,
            out: Expansion) -> tuple[tuple[str, ...] | None, list[Diagnostic]]:
    if not merge and origin is None:
        return (previous,), []
    if merge:
        if not st.args:
            usage = f"usage: {st.keyword.text} REF [REF ...], e.g. `{st.keyword.text} shortcut`"
            return None, [noted(error("E103", f"`{st.keyword.text}` needs the layers to merge", st.keyword.span,
                                       usage), inst)]
        words = list(st.args)
    else:
        words = [origin.value] if origin is not None else []
    found, problems = [], []
    for word in words:
        name, problem = reference(word, inst, out)
        found.append(name)
        problems += [noted(problem, inst)] if problem else []
    if problems or None in found:  # None without a problem: a value already reported (E120)
        return None, problems
    known = cast("list[str]", found)  # None is not in it: returned above
    if not merge:
        return (tuple(known) or (previous,)), []
    return (tuple(known) if len(known) > 1 else (previous, known[0])), []


def _call(st: Statement, block: BlockDef, inst: Instance, previous: str, out: Expansion) -> str:
    """Expand a block call (with its copies); returns the name of the last layer it made."""
    name = block.name.text
    if name in inst.stack:
        chain = " -> ".join((*inst.stack[inst.stack.index(name):], name))
        out.diagnostics.append(noted(error("E117", f"block `{name}` calls itself ({chain})", st.keyword.span,
                                            "a block may call other blocks, never itself"), inst))
        return previous
    if len(inst.stack) >= MAX_DEPTH:
        deep = too_deep(st, inst.stack, name)  # the outermost and innermost calls: the message has the chain
        out.diagnostics.append(deep._replace(notes=inst.notes[:1] + inst.notes[-1:]))
        return previous
    written = st
    st, copies = _repeat(st, inst, out)
    st, origin, twice = split_from(st)
    out.diagnostics += [noted(d, inst) for d in twice]
    st, share = split_share(st, inst, out) if st.options else (st, None)
    out.called.add(name)
    params = _bind(st, block, inst, out)
    reads, problems = _inputs(st, False, origin, previous, inst, out)
    out.diagnostics += problems
    if params is None or reads is None:
        return previous
    stack = (*inst.stack, name)
    numbers = tuple(whole(params[p.name.text]) if p.name.text in params else None for p in block.params)
    size = call_size(out.sizes.body(block, numbers, stack), copies or 1)
    if over(size, out.layers, len(out.instances)):  # its layers count as they are made, in the body
        alone = size.layers > MAX_LAYERS or size.instances > MAX_LAYERS  # then say where its count comes from
        _affordable(written, size, inst, out, out.sizes.notes(block, numbers, stack) if alone else ())
        return previous
    return _copies(st, block, params, copies, reads[0], inst, out, share)


def _copies(st: Statement, block: BlockDef, params: dict[str, Word], copies: int | None, last: str,
            inst: Instance, out: Expansion, share: Option | None = None) -> str:
    """The instances of a call, in a chain from ``last``; returns the name of the last layer made."""
    name = block.name.text
    local = st.label.text if st.label is not None else inst.default_name(name)
    names = [local] if copies is None else [f"{local}.{i}" for i in range(copies)]
    shared = inst.shared  # in an instance that shares, its calls share too, by the outer instance's paths
    found = None if share is None else call_sharing(share, block, params, copies is not None,
                                                     inst.full(names[0]), inst, out)
    shared = shared or found
    notes = (Note(f"in `{name}`, called here as {inst.full(local)}", st.span), *inst.notes)
    body, body_labels = list(block.body), _labels(list(block.body))
    scoped = {p.name.text: p.default for p in block.params
              if p.default is not None and params.get(p.name.text) is p.default and reads_shapes(p.default)}
    # What every copy shares: the labels it may not take as default names, the call stack, the notes
    # and the substituted body statements (see substituted_once), unless a default reads each copy's `in`.
    substituted: dict[int, Statement] | None = None if scoped else {}
    taken, stack = set(body_labels), (*inst.stack, name)
    for copy in names:
        path = inst.full(copy)
        child = Instance(path, Scope(body_labels, entry=last), params, taken=taken, stack=stack,
                          notes=notes, substituted=substituted)
        child.shared = shared
        if scoped:  # a default such as `n=in.c` is read in the block's scope, at each copy
            child.params = {**params, **{key: substitute(word, child, out) for key, word in scoped.items()}}
        entry, last = last, _walk(body, child, last, out)
        shares = found.ref_path if found is not None and shared is found else None
        out.instances.append(ir.Instance(path, name, inst.path, inst.full(local), entry, last, st.span, shares))
        if st.label is not None:
            out.calls[path] = name, params
        if st.label is not None:  # INSTANCE.LABEL reaches the labelled layers of a labelled instance
            for label, full in child.scope.above.items():
                inst.scope.above[f"{copy}.{label}"] = full
            inst.scope.above[copy] = last
    if st.label is not None:
        if copies is not None:  # the bare label is the last copy, and so reaches into it
            for label, full in child.scope.above.items():
                inst.scope.above[f"{local}.{label}"] = full
        inst.scope.above[local] = last
        inst.scope.calls[local] = inst.full(local) if copies is None else None
    return last


def _bind(st: Statement, block: BlockDef, inst: Instance, out: Expansion) -> dict[str, Word] | None:
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
        values[param] = call_value(word, inst, out)
    for option in st.options:
        key = option.name.text
        if key not in params:
            hint = did_you_mean(key, params) or where
            problems.append(error("E115", f"unknown option `{key}` for block `{block.name.text}`",
                                  option.name.span, hint))
        elif key in values:
            problems.append(error("E107", f"{key} given twice", option.name.span, where))
        else:
            values[key] = call_value(option.value, inst, out)
    refused = out.sizes.refused(block)
    for p in block.params:
        if p.name.text in refused:  # E007 at the parameter: the body's `in` or label keeps its meaning
            values.pop(p.name.text, None)
        elif p.name.text not in values:
            if p.default is None:
                problems.append(error("E103", f"`{block.name.text}` needs a value for {p.name.text}",
                                      st.keyword.span, where))
            else:
                values[p.name.text] = p.default
    out.diagnostics += [noted(d, inst) for d in problems]
    return None if problems else values
