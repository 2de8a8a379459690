"""GitHub Actions workflow commands: one `::error` / `::warning` line per diagnostic.

Printed from a workflow step, each line becomes an annotation on the spec's
line in the pull request. Values are escaped as the runner unescapes them:
`%`, CR and LF everywhere, and also `:` and `,` inside properties; other
control characters are written out (`\x1b`), never sent raw.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis import Analysis
from ..diagnostics import Diagnostic
from ..escape import printable


def escape_data(text: str) -> str:
    # Other control characters (a file name's ESC) are written out, so a terminal shows and never obeys them.
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(d: Diagnostic, path: str) -> str:
    span = d.span
    properties: dict[str, object] = {"file": path, "line": span.line}
    if span.end_line == span.line:  # GitHub takes columns only within one line
        properties["col"] = span.column
    properties["endLine"] = span.end_line
    if span.end_line == span.line:
        properties["endColumn"] = span.end_column
    properties["title"] = d.code
    written = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    text = f"{d.message}\nhelp: {d.help}" if d.help else d.message
    return f"::{d.severity} {written}::{escape_data(text)}"


def render(analyses: Sequence[Analysis], **_: object) -> str:
    return "\n".join(command(d, a.path) for a in analyses for d in a.diagnostics)
