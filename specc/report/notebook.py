"""How an Analysis shows itself in a notebook or a REPL: text, HTML, Markdown.

``text`` is the table `specc check` prints, without colour (what ``print``
shows); ``html`` is the same table with its diagnostics for Jupyter; ``markdown``
is for front ends that render Markdown; ``summary`` is the one-line ``repr``.
The figures come from :mod:`specc.report.text`, so every view agrees with the
command line. Standard library only: nothing here may slow `specc check`.
"""

from __future__ import annotations

from html import escape

from ..analysis import Analysis
from ..diagnostics import Diagnostic
from ..syntax import lines as source_lines
from . import text as report

# Column headers with the explanation the text report prints above its table.
TITLES = {
    "MACs": "multiply-accumulates per sample, bias excluded",
    "density": "fan-in / input size",
    "sharing": "dense-layer params / params",
    "RF": "receptive field",
}
COLOURS = {"error": "#c62828", "warning": "#b26a00"}


def text(a: Analysis) -> str:
    """The report `specc check` prints for this spec, without colour."""
    return report.render([a], color=False)


def verdict(a: Analysis) -> str:
    errors, warnings = len(a.errors), len(a.warnings)
    return (f"{'ok' if a.ok else 'failed'} ({errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)})")


def summary(a: Analysis) -> str:
    """One line: model, file, layers, parameters and the verdict."""
    name = a.model.name if a.model else "?"
    layers = len(a.layers)
    return (f"<Analysis {name} ({a.path}): {layers} layer{'s' * (layers != 1)}, "
            f"{report.num(a.totals.params)} params, {verdict(a)}>")


def _where(d: Diagnostic, path: str) -> str:
    return f"{path}:{d.span.line}:{d.span.column}"


def _source_line(d: Diagnostic, lines: list[str]) -> str | None:
    return lines[d.span.line - 1].strip() if 1 <= d.span.line <= len(lines) else None


def columns(a: Analysis) -> tuple[tuple[str, ...], list[tuple[str, ...]], set[int]]:
    """The text table's header, cells and right-aligned columns, with its inputs column where the spec branches."""
    header: tuple[str, ...]  # the report's, with an inputs column where the spec branches
    header, rows, right = report.HEADER, [report._row(r) for r in a.layers], report.RIGHT
    branches = getattr(report, "branches", None)  # the graph report's "Connected to" column
    if branches is not None and branches(a):
        header = (*header[:2], "inputs", *header[2:])
        rows = [(*row[:2], ", ".join(r.layer.inputs), *row[2:]) for row, r in zip(rows, a.layers)]
        right = {i + 1 for i in right}
    return header, rows, right


# ----------------------------------------------------------------------- HTML

def _html_table(a: Analysis) -> list[str]:
    header, rows, right = columns(a)
    head = "".join(f'<th title="{escape(TITLES[h])}">{h}</th>' if h in TITLES else f"<th>{h}</th>" for h in header)
    body = ["<tr>" + "".join(f'<td style="text-align:{"right" if i in right else "left"}">{escape(c)}</td>'
                             for i, c in enumerate(cells)) + "</tr>" for cells in rows]
    return ["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>", *body, "</tbody>", "</table>"]


def _html_diagnostic(d: Diagnostic, path: str, lines: list[str]) -> str:
    colour = COLOURS.get(d.severity, "inherit")
    parts = [f'<code>{escape(_where(d, path))}</code> '
             f'<b style="color:{colour}">{d.severity}[{escape(d.code)}]</b>: {escape(d.message)}']
    shown = _source_line(d, lines)
    if shown:
        parts.append(f"<br><code>{d.span.line} | {escape(shown)}</code>")
    if d.help:
        parts.append(f"<br><i>help:</i> {escape(d.help)}")
    return "<li>" + "".join(parts) + "</li>"


def html(a: Analysis) -> str:
    """The check table, totals and diagnostics as one HTML fragment (Jupyter's rich display)."""
    out = ['<div class="specc-analysis">', f"<p><b>{escape(report._title(a))}</b></p>"]
    if a.layers:
        out += _html_table(a)
        out += ["<pre>" + escape("\n".join(report.totals(a))) + "</pre>"]
    if a.diagnostics:
        lines = source_lines(a.source)
        out += ["<ul>", *(_html_diagnostic(d, a.path, lines) for d in a.diagnostics), "</ul>"]
    colour = "#2e7d32" if a.ok else COLOURS["error"]
    out += [f'<p>{escape(a.path)}: <b style="color:{colour}">{verdict(a)}</b></p>', "</div>"]
    return "\n".join(out)


# ------------------------------------------------------------------- Markdown

def _cell(value: str) -> str:
    return value.replace("|", "\\|") or " "


def _md_code(value: str) -> str:
    """Inline code that survives backticks inside the value."""
    fence = "``" if "`" in value else "`"
    return f"{fence} {value} {fence}" if fence == "``" else f"`{value}`"


def markdown(a: Analysis) -> str:
    """The check table as a GitHub-flavoured Markdown table, totals and diagnostics as lists."""
    out = [f"**{report._title(a)}**", ""]
    if a.layers:
        header, rows, right = columns(a)
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|")
        out += ["| " + " | ".join(_cell(c) for c in cells) + " |" for cells in rows]
        out += ["", "```", *report.totals(a), "```", ""]
    lines = source_lines(a.source)
    for d in a.diagnostics:
        item = f"- {_md_code(_where(d, a.path))} **{d.severity}[{d.code}]**: {d.message}"
        shown = _source_line(d, lines)
        if shown:
            item += f" — {_md_code(shown)}"
        if d.help:
            item += f"  \n  *help:* {d.help}"
        out.append(item)
    if a.diagnostics:
        out.append("")
    out.append(f"{a.path}: **{verdict(a)}**")
    return "\n".join(out)
