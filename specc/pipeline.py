"""The check pipeline, one named function per arrow:

    text ─parse→ statements ─lower→ Model ─infer→ layer reports ─lint→ diagnostics

``analyse_text(text, path)`` runs it and returns an ``Analysis`` (a record of
:mod:`specc.analysis`); reading files and choosing lint rules is
:mod:`specc.source`'s job. Every stage is pure Python with no torch, so
``specc check`` starts fast.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from .analysis import Analysis, default_name
from .diagnostics import Diagnostic, cap_repeats, error
from .infer import infer
from .ir import Model, readers
from .lint import apply_suppressions, lint
from .lower import lower
from .syntax import decode, parse


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block.

    A check allocates a few objects per word and per layer and frees none of
    them until it is done; none of them forms a cycle that reference counting
    would miss. The collector, which starts a pass every 700 new objects and
    walks the older ones again and again, cost a third of the time of a
    100,000-layer check (bench/RESULTS.md)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def analyse_text(text: str, path: str = "<string>", *, rules: frozenset[str] | None = None) -> Analysis:
    """Check a spec's text: parse, lower, infer shapes, lint with ``rules`` (default: the default set)."""
    with collector_paused():
        return _analyse(text, path, rules)


def _analyse(text: str, path: str, rules: frozenset[str] | None) -> Analysis:
    statements, diagnostics = parse(text)
    model, problems = lower(statements, default_name(path))  # consumes the statements as it builds the layers
    diagnostics += problems
    edges = readers(model.layers)  # who reads each output: the one index infer and lint read
    model, reports, totals, shape_errors = infer(model, edges)  # the model with its layers as inferred
    diagnostics += shape_errors
    if not any(d.severity == "error" for d in diagnostics):
        diagnostics += _no_layer(model) or lint(model, reports, rules, edges)
    diagnostics = apply_suppressions(text, _once(diagnostics, model))
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
    diagnostics = cap_repeats(diagnostics)  # 2 million repeats of one mistake: show 100, count the rest
    return Analysis(path, text, model, reports, totals, tuple(diagnostics))


def _no_layer(model: Model) -> list[Diagnostic]:
    """E121 for a spec that is only an input (or only blocks that give no layer): nothing to build."""
    if model.layers or model.input is None:
        return []
    return [error("E121", "the spec has no layer after its input: there is no network to build",
                  model.input_span, "add a layer, e.g. `conv 8 3x3 relu`")]


def _once(diagnostics: list[Diagnostic], model: Model) -> list[Diagnostic]:
    """One diagnostic per place: a body line of a block called many times (or a repeated layer)
    is reported once, with the notes of its first call site."""
    notes: dict[int, tuple] = {}
    for layer in model.layers if model else ():
        if layer.notes:
            notes.setdefault(layer.line, layer.notes)
    seen, once = set(), []
    for d in diagnostics:
        key = (d.code, d.span)
        if key in seen:
            continue
        seen.add(key)
        if not d.notes and d.span.line in notes:
            d = d._replace(notes=notes[d.span.line])
        once.append(d)
    return once


def analyse_bytes(data: bytes, path: str, *, rules: frozenset[str] | None = None) -> Analysis:
    """Check a file's raw bytes; undecodable input becomes an E001 diagnostic."""
    text, problem = decode(data)
    if problem is not None:
        return Analysis(path, "", None, diagnostics=(problem,))
    assert text is not None  # decode gives the text or the problem
    return analyse_text(text, path, rules=rules)
