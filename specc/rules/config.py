"""Which rules run for a file: --select/--ignore and the [tool.specc] table."""

from __future__ import annotations

from pathlib import Path


def lint_options(path: Path, select: list[str] | None, ignore: list[str] | None) -> dict:
    return {"select": select, "ignore": ignore}
