"""The check pipeline, one named function per arrow:

    text ─parse→ statements ─lower→ Model ─infer→ layer reports ─lint→ diagnostics

``compile(text, path)`` runs it and returns an ``Analysis``. Every stage is pure
Python with no torch, so ``specc check`` starts fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import rules
from .diagnostics import Diagnostic
from .infer import LayerReport, Totals, infer
from .ir import Model
from .lower import lower
from .repeats import cap_repeats
from .syntax import decode, parse


@dataclass(frozen=True)
class Analysis:
    """Everything `specc check` knows about one spec."""

    path: str
    source: str
    model: Model | None
    layers: tuple[LayerReport, ...] = ()
    totals: Totals = Totals(0, 0, 0, 0, 0)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def output(self):
        return self.layers[-1].output if self.layers else (self.model.input if self.model else None)


def compile(text: str, path: str = "<string>", *, select: Iterable[str] | None = None,
            ignore: Iterable[str] | None = None) -> Analysis:
    """Check a spec's text: parse, lower, infer shapes, lint."""
    statements, diagnostics = parse(text)
    model, problems = lower(statements, Path(path).stem if path not in ("<string>", "-") else "model")
    diagnostics += problems
    reports, totals, shape_errors = infer(model)
    diagnostics += shape_errors
    if not any(d.severity == "error" for d in diagnostics):
        diagnostics += rules.lint(model, reports, select, ignore)
    diagnostics = rules.apply_suppressions(text, diagnostics)
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
    diagnostics = cap_repeats(diagnostics)  # 2 million repeats of one mistake: show 100, count the rest
    return Analysis(path, text, model, reports, totals, tuple(diagnostics))


def compile_bytes(data: bytes, path: str, **options) -> Analysis:
    """Check a file's raw bytes; undecodable input becomes an E001 diagnostic."""
    text, problem = decode(data)
    if problem is not None:
        return Analysis(path, "", None, diagnostics=(problem,))
    return compile(text, path, **options)


def check(path: str | Path, **options) -> Analysis:
    """Check one .cnn file. OSError propagates: reading is the caller's concern."""
    return compile_bytes(Path(path).read_bytes(), str(path), **options)
