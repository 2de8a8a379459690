"""Every `specc.X` and `specc/x.py` a docstring, comment or doc names is still there.

Modules move (issue 22 put them in stage packages) and docstrings are where a
stale name survives: each dotted name starting with ``specc.`` in the package's
source, in docs/ and in the README must import as a module or resolve as an
attribute of one, and each path ``specc/...py`` or ``tests/...py`` must be a
file. History (CHANGELOG.md) keeps the names of its day.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# `specc.` followed by dotted identifiers, not inside a longer name (`tool.specc.per-file-ignores`,
# `.specc.lock`, a path) and not a file name (`specc.lark`, `specc.sarif`)
REFERENCE = re.compile(r"(?<![\w./-])specc(?:\.[A-Za-z_]\w*)+(?![\w-])")
PATH = re.compile(r"(?<![\w./-])((?:specc|tests|bench)/[\w/]+\.py)\b")
NOT_PYTHON = {"specc.lark", "specc.sarif", "specc.lock", "specc.server.command", "specc.cnn"}


def _texts() -> list[Path]:
    return [*sorted((ROOT / "specc").rglob("*.py")), *sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def _references() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _texts():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in REFERENCE.findall(line):
                name = name.rstrip(".")
                if name not in NOT_PYTHON:
                    found.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{number}")
    return found


def resolves(name: str) -> bool:
    """``name`` is a module, or an attribute reached from the longest module prefix of it."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            if not hasattr(target, attr):
                return False
            target = getattr(target, attr)
        return True
    return False


REFERENCES = _references()


def test_the_references_are_found() -> None:
    assert "specc.check" in REFERENCES and len(REFERENCES) > 30


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_a_named_module_or_attribute_exists(name: str) -> None:
    assert resolves(name), f"{name} (named at {', '.join(REFERENCES[name][:3])}) does not exist"


def test_a_stale_name_is_caught() -> None:
    assert resolves("specc.analysis.Analysis")
    assert not resolves("specc.pipeline.Analysis_of_old")
    assert not resolves("specc.no_such_module")


def _paths() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _texts():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in PATH.findall(line):
                found.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{number}")
    return found


PATHS = _paths()


@pytest.mark.parametrize("name", sorted(PATHS))
def test_a_named_file_exists(name: str) -> None:
    assert (ROOT / name).is_file(), f"{name} (named at {', '.join(PATHS[name][:3])}) is not a file"
