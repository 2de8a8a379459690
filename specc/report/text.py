"""The human report: a table per spec, its totals, then rustc-style diagnostics.

Written by hand rather than with a table library: the one candidate (tabulate)
imports importlib.metadata and costs 40 ms, a third of check's start-up budget.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..diagnostics import Diagnostic
from ..errors import printable
from ..infer import LayerReport
from ..pipeline import Analysis
from ..syntax import lines as source_lines

HEADER = ("layer", "kind", "output", "activations", "params", "MACs", "fan-in", "density", "sharing", "RF")
RIGHT = {3, 4, 5, 6, 7, 8, 9}


def num(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def shape(s) -> str:
    return "?" if s is None else "x".join("?" if d is None else str(d) for d in s)


def ratio(x: float | None, percent: bool = False) -> str:
    if x is None:
        return ""
    if percent:
        return f"{x * 100:.3g}%"
    return f"{x:,.1f}x" if x >= 1 else f"{x:.3g}x"


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _row(r: LayerReport) -> tuple[str, ...]:
    layer = r.layer
    kind = layer.kind
    act = getattr(layer, "function", None) or getattr(layer, "activation", None)
    if act and kind != "activation":
        kind = f"{kind}+{act}"
    elif kind == "activation":
        kind = act or kind
    rf = "" if r.receptive_field is None else (
        str(r.receptive_field[0]) if r.receptive_field[0] == r.receptive_field[1] else shape(r.receptive_field))
    fan_in = "" if r.fan_in is None else num(r.fan_in)
    return (layer.name, kind, shape(r.output), num(r.activations), num(r.params), num(r.macs), fan_in,
            ratio(r.density, percent=True), ratio(r.sharing), rf)


def table(a: Analysis) -> list[str]:
    rows = [HEADER] + [_row(r) for r in a.layers]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        cells = (c.rjust(w) if i in RIGHT else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(HEADER))
    return [line(HEADER), rule, *(line(row) for row in rows[1:]), rule]


def sharing_line(a: Analysis) -> list[str]:
    """The lecture's argument for the whole spec: its convolutions against dense layers."""
    convs = [r for r in a.layers if r.layer.kind == "conv" and r.dense_params is not None and r.params]
    if not convs:
        return []
    params, dense = sum(r.params for r in convs), sum(r.dense_params for r in convs)
    return [f"sharing      conv layers {num(params)} params; dense layers between the same volumes "
            f"{num(dense)} ({ratio(dense / params)} more)"]


def totals(a: Analysis) -> list[str]:
    t = a.totals
    return [
        f"params       {num(t.params)} (trainable {num(t.trainable_params)}, buffers {num(t.buffers)})",
        f"MACs         {num(t.macs)} per sample (FLOPs {num(2 * t.macs)})",
        f"activations  {num(t.activations)} values, {human_bytes(4 * t.activations)} per sample at fp32",
        f"model size   {num(t.size_bytes)} bytes ({human_bytes(t.size_bytes)}) at fp32",
        *sharing_line(a),
    ]


def _title(a: Analysis) -> str:
    model = a.model
    if model is None or model.input is None:
        return printable(a.path)
    return f"{printable(model.name)} ({printable(a.path)}): input {shape(model.input)}"


class Style:
    """ANSI colours on a terminal, none when NO_COLOR is set or output is piped."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


# A longer source line is shown as a window around the caret: echoing a 1 MB line once per
# diagnostic on it made the output grow with the square of the line's length.
SHOWN_WIDTH, SHOWN_BEFORE = 160, 40


def _caret_line(source_line: str, column: int, end_column: int) -> tuple[str, str]:
    lead = tail = ""
    if len(source_line) > SHOWN_WIDTH:  # cut the raw line first: expanding all of it per diagnostic is quadratic
        start = max(0, column - 1 - SHOWN_BEFORE)
        lead, tail = ("…" if start else ""), ("…" if start + SHOWN_WIDTH < len(source_line) else "")
        source_line = source_line[start:start + SHOWN_WIDTH]
        column, end_column = column - start, min(end_column - start, len(source_line) + 1)
    shown = _visible(source_line)
    before = _visible(source_line[: column - 1])
    marked = _visible(source_line[: max(end_column - 1, column)])
    width = max(len(marked) - len(before), 1)
    return lead + shown + tail, " " * (len(lead) + len(before)) + "^" * width


def _visible(text: str) -> str:
    """Source as shown: tabs expanded, control characters written out (an ESC in a spec must not reach the
    terminal: it could retitle the window or clear the screen)."""
    return printable(text).expandtabs(4)


def diagnostic(d: Diagnostic, path: str, lines: list[str], style: Style) -> list[str]:
    colour = "1;31" if d.severity == "error" else "1;33"
    path = printable(path)
    head = f"{path}:{d.span.line}:{d.span.column}: {style(f'{d.severity}[{d.code}]', colour)}: {printable(d.message)}"
    out = [head]
    if 1 <= d.span.line <= len(lines):
        gutter = str(d.span.line)
        end = d.span.end_column if d.span.end_line == d.span.line else len(lines[d.span.line - 1]) + 1
        shown, carets = _caret_line(lines[d.span.line - 1], d.span.column, end)
        out += [f" {gutter} | {shown}", f" {' ' * len(gutter)} | {style(carets, colour)}"]
    if d.help:
        out.append(f"  help: {printable(d.help)}")
    return out


def render(analyses: Sequence[Analysis], quiet: bool = False, color: bool | None = None, **_: object) -> str:
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    style = Style(color)
    out: list[str] = []
    for a in analyses:
        if not quiet and a.layers:
            out += [style(_title(a), "1"), "MACs: multiply-accumulates per sample, bias excluded; "
                    "density: fan-in / input size; sharing: dense-layer params / params; RF: receptive field",
                    *table(a), *totals(a)]
        lines = source_lines(a.source)
        for d in a.diagnostics:
            out += diagnostic(d, a.path, lines, style)
        if not quiet or a.diagnostics:
            errors, warnings = len(a.errors), len(a.warnings)
            verdict = style("ok", "1;32") if a.ok else style("failed", "1;31")
            out.append(f"{printable(a.path)}: {verdict} ({errors} error{'s' * (errors != 1)}, "
                       f"{warnings} warning{'s' * (warnings != 1)})")
            out.append("")
    return "\n".join(out).rstrip("\n")
