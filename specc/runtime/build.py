"""``specc.build(source)``: the module `specc compile` writes, built in-process.

It runs exactly the source that :func:`specc.codegen.generate` returns, so the
code a user reads in a compiled file is the code that trains and exports;
there is no second builder that could drift from it. Imports torch.
"""

from __future__ import annotations

import hashlib
import linecache
import types

import torch

from ..analysis import Analysis
from ..codegen import generate
from ..codegen.names import class_name
from ..errors import memory_refusal, out_of_memory
from ..source import Spec, read_ok


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


def build(spec: Spec | Analysis, *, path: str | None = None) -> torch.nn.Module:
    """The generated module for a spec (a path, its text or bytes, or its Analysis), with no arguments.

    ``path`` names the spec in messages and the generated header when ``spec``
    is text. Raises SpecCheckError (carrying the Analysis) if the spec has errors.
    """
    if isinstance(spec, Analysis):
        if not spec.ok:
            from ..errors import SpecCheckError

            raise SpecCheckError(spec)
        return instantiate(spec)
    return instantiate(read_ok(spec, path))


def instantiate(analysis: Analysis) -> torch.nn.Module:
    """The generated module of an error-free analysis, constructed with no arguments."""
    code = generate(analysis)
    digest = hashlib.sha256(code.encode()).hexdigest()[:12]
    name = class_name(analysis.checked_model.name)
    cls = load(code, name, f"<specc-generated {name} {digest}>")
    try:
        return cls()
    except (MemoryError, RuntimeError) as exc:  # torch's CPU allocator says RuntimeError, not MemoryError
        if not out_of_memory(exc):
            raise
        raise memory_refusal(exc, f"building '{analysis.checked_model.name}' ({analysis.totals.params:,} parameters)") \
            from exc
