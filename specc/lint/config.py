"""Which rules run for a file: --select/--ignore and the [tool.specc] table.

The table comes from the nearest pyproject.toml above the spec that has one
(like ruff, a pyproject.toml without [tool.specc] is skipped):

    [tool.specc]
    select = ["W"]                 # replaces the default set
    extend-select = ["W302"]       # adds to it
    ignore = ["W205"]              # removes from it
    [tool.specc.per-file-ignores]
    "specs/legacy/*.cnn" = ["W2"]  # glob relative to the pyproject.toml folder, or a file name

The command line is applied after the table, so its flags win. Nothing is
cached: a long-running process (an editor, a test) sees edits to the file.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from ..diagnostics import close_match
from ..errors import SpeccError
from ..files import read_regular
from .selection import Settings

# A cheap look before paying for tomllib: the table header, or a bare [tool] table.
_MAYBE = re.compile(rb"^\s*\[\s*tool\s*(?:\]|\.\s*\"?specc\b)", re.MULTILINE)
KEYS = ("select", "extend-select", "ignore", "per-file-ignores")


def find_config(folder: Path) -> tuple[Path, dict] | None:
    """The nearest pyproject.toml at or above ``folder`` with a [tool.specc] table, and the table."""
    for directory in (folder, *folder.parents):
        candidate = directory / "pyproject.toml"
        try:
            data = read_regular(candidate)  # a FIFO named pyproject.toml would hang the check
        except (OSError, ValueError):
            continue
        table = _table(candidate, data) if _MAYBE.search(data) else None
        if table is not None:
            return candidate, table
    return None


def _table(path: Path, data: bytes) -> dict | None:
    import tomllib

    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpeccError(f"cannot read {path}: {exc}", 2) from exc
    table = document.get("tool", {}).get("specc")
    if table is not None and not isinstance(table, dict):
        raise SpeccError(f"{path}: [tool.specc] must be a table", 2)
    return table


def _check_keys(table: dict, where: str) -> None:
    """Refuse near-misses of our keys (`extend_select`, `ignores`); other keys may belong to other tools."""
    for key in table:
        close = close_match(key, KEYS, cutoff=0.8)
        if key not in KEYS and close:
            raise SpeccError(f"{where}: unknown key `{key}`; did you mean `{close}`?", 2)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpeccError(f"{where} must be a list of rule codes, e.g. [\"W101\"]", 2)
    return tuple(value)


def _codes(table: dict, key: str, where: str) -> tuple[str, ...] | None:
    value = table.get(key)
    return None if value is None else _strings(value, f"{where} `{key}`")


def _per_file(table: dict, root: Path, spec: Path, where: str) -> tuple[str, ...]:
    patterns = table.get("per-file-ignores") or {}
    if not isinstance(patterns, dict):
        raise SpeccError(f"{where}: `per-file-ignores` must be a table of glob = [codes]", 2)
    try:
        relative = spec.resolve().relative_to(root).as_posix()
    except ValueError:
        relative = spec.name
    codes: list[str] = []
    for pattern, listed in patterns.items():
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(spec.name, pattern):
            codes += _strings(listed, f"{where} per-file-ignores \"{pattern}\"")
    return tuple(codes)


def table_layer(spec: Path) -> Settings | None:
    """The [tool.specc] settings that apply to ``spec``, or None when there are none."""
    found = find_config(spec.resolve().parent)
    if found is None:
        return None
    path, table = found
    where = f"{path} [tool.specc]"
    _check_keys(table, where)
    ignore = (_codes(table, "ignore", where) or ()) + _per_file(table, path.parent, spec, where)
    return Settings(_codes(table, "select", where), _codes(table, "extend-select", where) or (), ignore,
                 f"{where} `{{key}}`")

