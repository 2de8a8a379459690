"""``specc.build(source)``: the module `specc compile` writes, built in-process.

It runs exactly the source that :func:`specc.codegen.generate` returns, so the
code a user reads in a compiled file is the code that trains and exports;
there is no second builder that could drift from it. Imports torch.
"""

from __future__ import annotations

import hashlib
import linecache
import types
from pathlib import Path

import torch

from . import pipeline
from .codegen import generate
from .codegen_names import class_name
from .errors import SpeccError, memory_refusal, out_of_memory
from .pipeline import Analysis


def analyse(source: str | Path, path: str | None = None, refusal: str = "nothing was built") -> Analysis:
    """Check ``source``: a path (Path, or a str naming an existing file) or the spec's text.

    Raises SpeccError with the rendered diagnostics if the spec has errors,
    saying ``refusal`` (what the caller will not do).
    """
    if isinstance(source, Path) or ("\n" not in source and (Path(source).is_file() or source.endswith(".cnn"))):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise SpeccError(f"cannot read '{source}': {exc.strerror or exc}", 2) from exc
        analysis = pipeline.compile_bytes(data, path or str(source))
    else:
        analysis = pipeline.compile(source, path or "<string>")
    if not analysis.ok:
        raise SpeccError(f"{analysis.path} has errors; {refusal}\n{diagnostics(analysis)}")
    return analysis


def diagnostics(analysis: Analysis) -> str:
    """The diagnostics exactly as `specc check --quiet` prints them, without colour."""
    from .report import render

    return render([analysis], "text", quiet=True, color=False)


def load(code: str, name: str, filename: str) -> type[torch.nn.Module]:
    """Execute generated source in a fresh module and return its class ``name``.

    The source is registered with linecache under ``filename`` so tracebacks,
    ``inspect`` and torch's tracers can show the generated lines.
    """
    module = types.ModuleType(f"specc_generated_{name.lower()}")
    module.__file__ = filename
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    exec(compile(code, filename, "exec"), module.__dict__)  # specc's own generated source, never user code
    return module.__dict__[name]


def build(source: str | Path, *, path: str | None = None) -> torch.nn.Module:
    """The generated module for a spec (a path or the spec's text), constructed with no arguments.

    ``path`` names the spec in messages and the generated header when
    ``source`` is text. Raises SpeccError if the spec has errors.
    """
    return instantiate(analyse(source, path))


def instantiate(analysis: Analysis) -> torch.nn.Module:
    """The generated module of an error-free analysis, constructed with no arguments."""
    code = generate(analysis)
    digest = hashlib.sha256(code.encode()).hexdigest()[:12]
    name = class_name(analysis.model.name)
    cls = load(code, name, f"<specc-generated {name} {digest}>")
    try:
        return cls()
    except (MemoryError, RuntimeError) as exc:  # torch's CPU allocator says RuntimeError, not MemoryError
        if not out_of_memory(exc):
            raise
        raise memory_refusal(exc, f"building '{analysis.model.name}' ({analysis.totals.params:,} parameters)") \
            from exc
