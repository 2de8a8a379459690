"""The one spec reader: a path, `-` (stdin), text or bytes -> Analysis.

`specc check`, `compile`, `train`, `export` and the library API read specs
here and nowhere else, so a spec means the same thing to all of them: the same
decoding, the same default model name, and the same lint rules, chosen by the
nearest pyproject.toml's [tool.specc] table and then the caller's
``select``/``ignore``. An argument of the wrong type is a TypeError naming it,
as Python's own functions do (SpeccError is for a wrong value). No torch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from .analysis import Analysis
from .errors import SpeccError, SpecCheckError, quoted_path
from .files import read_regular
from .pipeline import analyse_bytes, analyse_text
from .syntax import decode

Spec = str | bytes | bytearray | memoryview | os.PathLike
SPEC_TYPES = "a path (str or os.PathLike), the spec's text (str), its bytes or (to compile, build or train) an Analysis"
RULE_TYPES = "rule codes: a str such as 'W1,W103', or an iterable of str"


def is_path(spec: Spec) -> bool:
    """Whether a spec names a file. A Path does; a str does if it is `-` (stdin), names something
    that exists, or is one word (no space, no line break) that ends in `.cnn` or holds a `/`.
    Any other str is the spec's text: `input 8x8x1 # x.cnn` is text."""
    if isinstance(spec, os.PathLike):
        return True
    if not isinstance(spec, str) or "\n" in spec or "\r" in spec or not spec:
        return False
    one_word = not any(char.isspace() for char in spec)
    named = spec.endswith(".cnn") or "/" in spec or os.sep in spec
    return spec == "-" or (one_word and named) or os.path.lexists(spec)


def wrong_type(argument: str, value: object, takes: str) -> TypeError:
    """Python's error for an argument of the wrong type: its name, what it takes and what it got."""
    shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:57]}..."
    got = "None" if value is None else f"{type(value).__name__}: {shown}"
    return TypeError(f"{argument} must be {takes}, not {got}")


def typed_spec(spec: object, argument: str = "spec") -> Spec:
    """The spec as read() takes it, bytes-like values as bytes; TypeError for anything else."""
    if isinstance(spec, (bytearray, memoryview)):
        return bytes(spec)
    if isinstance(spec, (str, bytes, os.PathLike)):
        return spec
    raise wrong_type(argument, spec, SPEC_TYPES)


def _typed_rules(argument: str, value: object) -> Iterable[str] | str | None:
    """``select``/``ignore`` as given, an iterable read once into a tuple; TypeError for anything else."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray, memoryview)):
        found = tuple(value)
        if all(isinstance(code, str) for code in found):
            return found
    raise wrong_type(argument, value, RULE_TYPES)


def read(spec: Spec, path: str | None = None, *, select: Iterable[str] | str | None = None,
         ignore: Iterable[str] | str | None = None, origin: str = "{key}") -> Analysis:
    """Check a spec given as a file (a path, or `-` for stdin), its text or its bytes.

    ``path`` names text or bytes in messages and gives the default model name.
    [tool.specc] applies to files (for stdin: from the working folder); the
    caller's ``select``/``ignore`` apply after it (``origin`` names them in
    messages: `--{key}` for the command line). Raises SpeccError (status 2)
    when the file cannot be read or a rule selector is unknown, TypeError for
    an argument of the wrong type.
    """
    spec = typed_spec(spec)
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise wrong_type("path", path, "a name for the spec (str or os.PathLike) or None")
    path = None if path is None else os.fspath(path)
    select, ignore = _typed_rules("select", select), _typed_rules("ignore", ignore)
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


def spec_text(path: str | os.PathLike) -> str | None:
    """A spec file's text as ``read`` decodes it, without checking it; None where it does not
    decode (``read`` reports that as E001). SpeccError (status 2) where it cannot be read."""
    text, problem = decode(_read_bytes(os.fspath(path)))
    return None if problem is not None else text


def _read_bytes(name: str) -> bytes:
    try:
        if name == "-":
            return sys.stdin.buffer.read()
        return read_regular(name)  # the file read is the one looked at: no FIFO, no device
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SpeccError(f"cannot read {quoted_path(name)}: {reason}", 2) from exc


def enabled_rules(file: Path | None = None, select: Iterable[str] | str | None = None,
                  ignore: Iterable[str] | str | None = None, origin: str = "{key}") -> frozenset[str]:
    """The rule codes to run: defaults, then [tool.specc] (for a file), then select/ignore."""
    from .lint.config import table_layer
    from .lint.registry import DEFAULTS
    from .lint.selection import Settings, apply, codes

    enabled = DEFAULTS
    table = table_layer(file) if file is not None else None
    if table is not None:
        enabled = apply(enabled, table)
    return apply(enabled, Settings(codes(select), (), codes(ignore) or (), origin))
