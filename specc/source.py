"""The one spec reader: a path, `-` (stdin), text or bytes -> Analysis.

`specc check`, `compile`, `train`, `export` and the library API read specs
here and nowhere else, so a spec means the same thing to all of them: the same
decoding, the same default model name, and the same lint rules, chosen by the
nearest pyproject.toml's [tool.specc] table and then the caller's
``select``/``ignore``. No torch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from .errors import SpeccError, SpecCheckError
from .pipeline import Analysis, analyse_bytes, analyse_text

Spec = str | bytes | os.PathLike


def is_path(spec: Spec) -> bool:
    """A Path, or a one-line string naming an existing file or a `.cnn` file; any other string is text."""
    if isinstance(spec, os.PathLike):
        return True
    if not isinstance(spec, str) or "\n" in spec or "\r" in spec:
        return False
    return spec == "-" or spec.endswith(".cnn") or Path(spec).is_file()


def read(spec: Spec, path: str | None = None, *, select: Iterable[str] | str | None = None,
         ignore: Iterable[str] | str | None = None, origin: str = "{key}") -> Analysis:
    """Check a spec given as a file (a path, or `-` for stdin), its text or its bytes.

    ``path`` names text or bytes in messages and gives the default model name.
    [tool.specc] applies to files (for stdin: from the working folder); the
    caller's ``select``/``ignore`` apply after it (``origin`` names them in
    messages: `--{key}` for the command line). Raises SpeccError (status 2)
    when the file cannot be read or a rule selector is unknown.
    """
    if is_path(spec):
        name = os.fspath(spec)
        rules = enabled_rules(Path.cwd() / "-" if name == "-" else Path(name), select, ignore, origin)
        return analyse_bytes(_read_bytes(name), "<stdin>" if name == "-" else name, rules=rules)
    rules = enabled_rules(None, select, ignore, origin)
    if isinstance(spec, bytes):
        return analyse_bytes(spec, path or "<string>", rules=rules)
    return analyse_text(spec, path or "<string>", rules=rules)


def read_ok(spec: Spec, path: str | None = None, refusal: str = "nothing was built", **options) -> Analysis:
    """Like ``read``, but a spec with errors raises SpecCheckError saying ``refusal``."""
    analysis = read(spec, path, **options)
    if not analysis.ok:
        raise SpecCheckError(analysis, refusal)
    return analysis


def _read_bytes(name: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise SpeccError(f"cannot read '{name}': {exc.strerror or exc}", 2) from exc


def enabled_rules(file: Path | None = None, select: Iterable[str] | str | None = None,
                  ignore: Iterable[str] | str | None = None, origin: str = "{key}") -> frozenset[str]:
    """The rule codes to run: defaults, then [tool.specc] (for a file), then select/ignore."""
    from .lint.config import table_layer
    from .lint.registry import DEFAULTS
    from .lint.selection import Layer, apply, codes

    enabled = DEFAULTS
    table = table_layer(file) if file is not None else None
    if table is not None:
        enabled = apply(enabled, table)
    return apply(enabled, Layer(codes(select), (), codes(ignore) or (), origin))
