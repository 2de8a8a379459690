"""The human report: a table per spec, its totals, then rustc-style diagnostics.

Written by hand rather than with a table library: the one candidate (tabulate)
imports importlib.metadata and costs 40 ms, a third of check's start-up budget.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from operator import itemgetter

from ..analysis import Analysis, LayerReport
from ..diagnostics import Diagnostic
from ..escape import printable
from ..ir import Model
from ..numbers import HUGE, dims, exact, human_bytes, readable, scientific
from ..syntax import lines as source_lines

HEADER = ("layer", "kind", "output", "activations", "params", "MACs", "fan-in", "density", "sharing", "RF")
RIGHT = {3, 4, 5, 6, 7, 8, 9}
# The table's cells are a _row's and then the layer's inputs, shown after the kind where the spec branches
# (Keras' "Connected to").
CELLS = (*HEADER, "inputs")
INPUTS = CELLS.index("inputs")


num = exact


shape = dims  # the one formatter of shapes (specc.numbers)


def ratio(x: float | None, percent: bool = False) -> str:
    if x is None:
        return ""
    if percent:
        return f"{x * 100:.3g}%"
    if x >= HUGE:
        return f"{scientific(x)}x"
    return f"{x:,.1f}x" if x >= 1 else f"{x:.3g}x"


def _row(r: LayerReport) -> tuple[str, ...]:
    layer = r.layer
    rf = "" if r.receptive_field is None else (
        str(r.receptive_field[0]) if len(set(r.receptive_field)) == 1 else shape(r.receptive_field))
    fan_in = "" if r.fan_in is None else num(r.fan_in)
    params = num(r.params) if layer.shares is None else f"shares {layer.shares.owner}"  # counted on its owner
    return (layer.name, layer.kind_text, shape(r.output), num(r.activations), params, num(r.macs), fan_in,
            ratio(r.density, percent=True), ratio(r.sharing), rf)


def branches(a: Analysis) -> bool:
    """Whether some layer reads anything but the line above it (Keras' "Connected to" is then shown)."""
    previous = a.model.input_names[0] if a.model else "input"
    for r in a.layers:
        if r.layer.inputs != (previous,):
            return True
        previous = r.layer.name
    return False


def _subtotals(a: Analysis) -> dict[str, list[tuple[str, ...]]]:
    """For each layer that ends a block instance: a subtotal row per instance it ends, innermost first."""
    instances = {i.path: i for i in a.model.instances} if a.model else {}
    if not instances:
        return {}
    sums: dict[str, list[int]] = {path: [0, 0] for path in instances}
    for r in a.layers:
        path = r.layer.block
        while path is not None:
            sums[path][0] += r.params or 0
            sums[path][1] += r.macs or 0
            path = instances[path].parent
    shapes = {r.layer.name: r.output for r in a.layers}
    shares = {r.layer.name for r in a.layers if r.layer.shares is not None}  # an instance's, unless E123 undid it
    rows: dict[str, list[tuple[str, ...]]] = {}
    for path, inst in sorted(instances.items(), key=lambda item: -item[0].count(".")):
        params, macs = sums[path]
        counted = f"shares {inst.shares}" if inst.shares is not None and inst.output in shares else num(params)
        rows.setdefault(inst.output, []).append(
            (f"{path} total", inst.block, shape(shapes.get(inst.output)), "", counted, num(macs), "", "", "",
             "", ""))  # and no inputs
    return rows


# Dropped first when a terminal is too narrow; layer, output, params and MACs always stay.
DROP_ORDER = ("density", "fan-in", "RF", "sharing", "activations", "inputs", "kind")


def table(a: Analysis, width: int | None = None) -> list[str]:
    """The layer table's lines (see ``table_lines``)."""
    return list(table_lines(a, width))


def table_lines(a: Analysis, width: int | None = None) -> Iterator[str]:
    """The layer table's lines, with an inputs column where the spec branches and a subtotal row
    per block instance; with ``width``, the least important columns are dropped until it fits.

    Two passes over the layers: the first finds each column's width, the second formats each
    row as it is written, so that a large table is never held whole (its cells and lines were
    30 MB of a 100,000-layer check's peak; bench/RESULTS.md)."""
    subtotals = _subtotals(a)
    keep = [0, 1, INPUTS, *range(2, len(HEADER))] if branches(a) else list(range(len(HEADER)))  # in shown order
    sizes = list(map(len, CELLS))  # each column's width
    for row in _rows(a, subtotals):
        sizes = list(map(max, sizes, map(len, row)))
    dropped: list[str] = []
    for name in DROP_ORDER:
        if width is None or _width(sizes, keep) <= width:
            break
        if CELLS.index(name) in keep:
            keep.remove(CELLS.index(name))
            dropped.append(name)
    # One %-format per row pads every cell: right-aligned %12s, left-aligned %-12s.
    layout = "  ".join(f"%{'' if i in RIGHT else '-'}{sizes[i]}s" for i in keep)
    cells = itemgetter(*keep)
    header = (layout % cells(CELLS)).rstrip()
    rule = "-" * len(header)
    yield from legend(dropped, width)
    if dropped:
        yield f"(columns left out to fit {width} characters: {', '.join(dropped)}; --wide shows them)"
    yield header
    yield rule
    for row in _rows(a, subtotals):
        yield (layout % cells(row)).rstrip()
    yield rule


def _rows(a: Analysis, subtotals: dict[str, list[tuple[str, ...]]]) -> Iterator[tuple[str, ...]]:
    """The cells of a row per layer, each followed by the subtotal rows of the block instances it ends."""
    for r in a.layers:
        yield (*_row(r), ", ".join(r.layer.inputs))
        if subtotals:
            yield from subtotals.get(r.layer.name, ())


LEGEND = (("MACs", "multiply-accumulates per sample, bias excluded"), ("density", "fan-in / input size"),
          ("sharing", "dense-layer params / params"), ("RF", "receptive field"))


def legend(dropped: Sequence[str] = (), width: int | None = None) -> list[str]:
    """What the columns mean; on a terminal only the columns shown, wrapped to its width."""
    text = "; ".join(f"{name}: {meaning}" for name, meaning in LEGEND if name not in dropped)
    return wrap(text, width)


def wrap(text: str, width: int | None, indent: str = "") -> list[str]:
    """One line when piped (width None), else lines that fit the terminal."""
    if width is None:
        return [text]
    import textwrap  # only on a terminal

    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]


def _width(sizes: list[int], keep: list[int]) -> int:
    return sum(sizes[i] for i in keep) + 2 * (len(keep) - 1)


def sharing_line(a: Analysis) -> list[str]:
    """The lecture's argument for the whole spec: its convolutions against dense layers."""
    params = dense = 0  # over the conv layers with known counts
    for r in a.layers:
        if r.layer.kind in ("conv", "dwconv", "convtranspose") and r.dense_params is not None and r.params:
            params += r.params
            dense += r.dense_params
    if not params:  # no such layer: each has params > 0
        return []
    return [f"sharing      conv layers {num(params)} params; dense layers between the same volumes "
            f"{num(dense)} ({ratio(dense / params)} more)"]


def totals(a: Analysis) -> list[str]:
    t = a.totals
    return [
        f"params       {readable(t.params)}, trainable {num(t.trainable_params)}, buffers {num(t.buffers)}",
        f"MACs         {readable(t.macs)} per sample; FLOPs {readable(2 * t.macs)}",
        f"activations  {readable(t.activations)} values, {human_bytes(4 * t.activations)} per sample at fp32",
        f"model size   {num(t.size_bytes)} bytes ({human_bytes(t.size_bytes)}) at fp32",
        *sharing_line(a),
    ]


def memory_lines(a: Analysis, batch: int, optimizer: str | None) -> list[str]:
    """The training-memory estimate for a mini-batch (specc.infer.training_memory), with its convention."""
    from ..infer.training_memory import CONVENTION, estimate

    m = estimate(a, batch, optimizer)
    task = f" ({m.task}, loss {m.loss})" if m.task != "classify" else ""
    return [f"memory       {human_bytes(m.total)} to train{task} at batch {batch} with {m.optimizer}: parameters "
            f"{human_bytes(m.parameters)}, gradients {human_bytes(m.gradients)}, optimizer state "
            f"{human_bytes(m.optimizer_state)}, activations {human_bytes(m.activations)}",
            f"             ({CONVENTION})"]


def one_line(a: Analysis) -> str:
    """``lenet5: 32x32x3 -> 10, 62,958 (63.0 k) params, 849,320 (849.3 k) MACs``: a spec at a glance."""
    t = a.totals
    name = a.model.name if a.model else a.path
    start = _inputs(a.model) if a.model and len(a.model.inputs) > 1 else shape(a.model.input) if a.model else "?"
    end = _outputs(a, a.model) if a.model and len(a.model.declared_outputs) > 1 else shape(a.output)
    return f"{name}: {start} -> {end}, {readable(t.params)} params, {readable(t.macs)} MACs"


def _title(a: Analysis) -> str:
    model = a.model
    if model is None or model.input is None:
        return printable(a.path)
    returns = f"; output{'s' if len(model.declared_outputs) > 1 else ''} {_outputs(a, model)}" \
        if model.declared_outputs else ""
    if len(model.inputs) > 1:
        return f"{printable(model.name)} ({printable(a.path)}): inputs {_inputs(model)}{returns}"
    return f"{printable(model.name)} ({printable(a.path)}): input {shape(model.input)}{returns}"


def _outputs(a: Analysis, model: Model) -> str:
    """``h1 13x13x255, h2 26x26x255``: the outputs an `output` line names, in order."""
    return ", ".join(f"{printable(name)} {shape(a.shape_of(name))}" for name in model.declared_outputs)


def _inputs(model: Model) -> str:
    """``a 96x96x3, b 96x96x3``: a network's inputs, named, in order."""
    return ", ".join(f"{printable(i.name)} {shape(i.shape)}" for i in model.inputs)


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
    for note in d.notes:  # a line inside a block: where it was called from, innermost first
        out.append(f"  {style('note', '1;36')}: {printable(path)}:{note.span.line}:{note.span.column}: "
                   f"{printable(note.message)}")
        if 1 <= note.span.line <= len(lines):
            out.append(f" {note.span.line} | {printable(lines[note.span.line - 1].strip())}")
    return out


def render(analyses: Sequence[Analysis], quiet: bool = False, color: bool | None = None, *,
           width: int | None = None, batch: int | None = None, optimizer: str | None = None,
           **_: object) -> str:
    """The report; ``width`` fits tables to a terminal, ``batch`` adds the training-memory estimate."""
    return "".join(pieces(analyses, quiet, color, width=width, batch=batch, optimizer=optimizer))


def pieces(analyses: Sequence[Analysis], quiet: bool = False, color: bool | None = None, *,
           width: int | None = None, batch: int | None = None, optimizer: str | None = None,
           **_: object) -> Iterator[str]:
    """``render``'s text in pieces, as the lines are made (`specc check` writes them so: the
    report of a large spec is never held whole). The lines joined by newlines, without the
    blank lines at the end."""
    first, blank = True, 0
    for line in lines(analyses, quiet, color, width=width, batch=batch, optimizer=optimizer):
        if not line:
            blank += 1
            continue
        yield ("" if first else "\n") + "\n" * blank + line
        first, blank = False, 0


def lines(analyses: Sequence[Analysis], quiet: bool = False, color: bool | None = None, *,
          width: int | None = None, batch: int | None = None, optimizer: str | None = None,
          **_: object) -> Iterator[str]:
    """The report's lines as they are made; blank lines may end them (``pieces`` leaves those out)."""
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    style = Style(color)
    for a in analyses:
        if not quiet and a.layers:
            figures = totals(a) + (memory_lines(a, batch, optimizer) if batch is not None else [])
            yield style(_title(a), "1")
            yield from table_lines(a, width)
            yield from (part for line in figures for part in wrap(line, width, " " * 13))
        source = source_lines(a.source) if a.diagnostics else []  # splitting 100,000 lines for nothing: 20 ms
        for d in a.diagnostics:
            yield from diagnostic(d, a.path, source, style)
        if not quiet or a.diagnostics:
            yield f"{printable(a.path)}: {verdict(a, style)}"
            yield ""
    if len(analyses) > 1:
        yield total_line(analyses)


def verdict(a: Analysis, style: Style) -> str:
    errors, warnings = len(a.errors), len(a.warnings)
    word = style("ok", "1;32") if a.ok else style("failed", "1;31")
    return f"{word} ({errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)})"


def total_line(analyses: Sequence[Analysis]) -> str:
    """``checked 12 files: 2 with errors, 3 warnings``: the closing line of a check of several files."""
    failed = sum(1 for a in analyses if not a.ok)
    warnings = sum(len(a.warnings) for a in analyses)
    files = f"{len(analyses)} file{'s' * (len(analyses) != 1)}"
    return (f"checked {files}: {failed} with errors, "
            f"{warnings} warning{'s' * (warnings != 1)}")
