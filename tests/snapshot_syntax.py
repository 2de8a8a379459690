"""Write tests/snapshots/syntax.json: what `specc.syntax.parse` makes of every
.cnn under specs/, tests/broken/ and tests/fixtures/.

Run: `PYTHONPATH=$PWD python tests/snapshot_syntax.py`. The committed snapshot
was written by the parser of commit ce6ae58 (before graphs and blocks), so
tests/test_syntax.py can prove that the parser still reads every existing spec
exactly as it did. Rewrite it only on purpose, and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "snapshots" / "syntax.json"
CORPUS_GLOBS = ("specs/**/*.cnn", "tests/broken/**/*.cnn", "tests/fixtures/**/*.cnn")


def corpus() -> list[Path]:
    return sorted({p for pattern in CORPUS_GLOBS for p in ROOT.glob(pattern)})


def plain(value: object) -> object:
    """A parse result as JSON data: a dataclass becomes its type name and fields."""
    if type(value).__name__ == "Span":
        return [value.line, value.column, value.end_line, value.end_column]
    names = getattr(type(value), "_fields", None)  # the syntax nodes are named tuples or records
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value)]
    if names is not None:
        # A Diagnostic's notes (added after the snapshot, for block call sites) are left out while empty.
        fields = {name: plain(getattr(value, name)) for name in names
                  if not (name == "notes" and not getattr(value, name))}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def parsed(path: Path) -> dict:
    """The statements and diagnostics of one file, as JSON data."""
    from specc.syntax import decode, parse

    data = path.read_bytes()
    text, _ = decode(data)
    if text is None:  # the E001 file: its text, as far as it goes, still parses
        text = data.decode("utf-8", "replace")
    statements, diagnostics = parse(text)
    return {"statements": plain(statements), "diagnostics": plain(diagnostics)}


def snapshot() -> dict[str, dict]:
    return {path.relative_to(ROOT).as_posix(): parsed(path) for path in corpus()}


def dumps(files: dict[str, dict]) -> str:
    """JSON with one statement or diagnostic a line, so that a diff reads well."""
    def items(values: list) -> str:
        return "[" + ",".join("\n  " + json.dumps(v, ensure_ascii=False) for v in values) + "]"

    entries = [f'{json.dumps(path)}: {{\n "statements": {items(result["statements"])},\n'
               f' "diagnostics": {items(result["diagnostics"])}}}' for path, result in files.items()]
    return "{" + ",\n".join(entries) + "}\n"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(dumps(snapshot()), encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
