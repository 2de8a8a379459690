"""The language server's answers, as pure functions of a document's text and its Analysis:
diagnostics, inlay hints, hover, go to definition. Completion is in :mod:`specc.lsp.complete`.

Positions are LSP's 0-based lines with code-point columns; the server turns
them into the client's units (UTF-16 by default). The figures come from the
same Analysis and report helpers as `specc check`, so the editor and the
command line never disagree.
"""

from __future__ import annotations

from collections import defaultdict

from lsprotocol import types

from ..analysis import Analysis, LayerReport
from ..diagnostics import Diagnostic, Span
from ..report import text as report
from ..syntax import lines as source_lines
from . import scan

SOURCE = "specc"
HOVER_LAYERS = 4  # a block body line stands for one layer per instance: show the first few


def to_range(span: Span) -> types.Range:
    return types.Range(types.Position(max(span.line - 1, 0), max(span.column - 1, 0)),
                       types.Position(max(span.end_line - 1, 0), max(span.end_column - 1, 0)))


def _place_range(place: scan.Place) -> types.Range:
    return types.Range(types.Position(place.line, place.start), types.Position(place.line, place.end))


def diagnostic(d: Diagnostic, uri: str, related: bool) -> types.Diagnostic:
    """One diagnostic with the CLI's code, span and help (as related information where the client shows it)."""
    rng = to_range(d.span)
    severity = types.DiagnosticSeverity.Error if d.severity == "error" else types.DiagnosticSeverity.Warning
    message, extra = d.message, None
    if d.help and related:
        extra = [types.DiagnosticRelatedInformation(types.Location(uri, rng), f"help: {d.help}")]
    elif d.help:
        message = f"{message}\nhelp: {d.help}"
    return types.Diagnostic(rng, message, severity, d.code, source=SOURCE, related_information=extra)


def diagnostics(analysis: Analysis, uri: str, related: bool = True) -> list[types.Diagnostic]:
    return [diagnostic(d, uri, related) for d in analysis.diagnostics]


def _by_line(analysis: Analysis) -> dict[int, list[LayerReport]]:
    """Layer reports keyed by their 0-based source line (several for a repeat or a block body)."""
    found: dict[int, list[LayerReport]] = defaultdict(list)
    for r in analysis.layers:
        found[r.layer.span.line - 1].append(r)
    return found


def _by_call(analysis: Analysis) -> dict[int, list[LayerReport]]:
    """The layers each block call stands for, keyed by the call's 0-based line (every level of nesting)."""
    found: dict[int, list[LayerReport]] = defaultdict(list)
    for r in analysis.layers:
        for note in getattr(r.layer, "notes", ()):  # the call sites of the block the layer is in
            found[note.span.line - 1].append(r)
    return found


def _lines_of_layers(analysis: Analysis) -> dict[int, list[LayerReport]]:
    """Every line that stands for layers: layer lines and block calls."""
    return {**_by_line(analysis), **_by_call(analysis)}


def hint_label(reports: list[LayerReport]) -> str:
    """`→ 28x28x8 · 608 params`; for several layers on one line: the last output and the sum of params."""
    last = reports[-1]
    label = f"→ {report.shape(last.output)}"
    params = [r.params for r in reports if r.params is not None]
    if len(params) == len(reports):  # every count known
        total = sum(params)
        label += f" · {report.num(total)} param{'s' * (total != 1)}"
    if len(reports) > 1:
        label += f" ({len(reports)} layers)"
    return label


def inlay_hints(analysis: Analysis, first: int = 0, last: int | None = None) -> list[types.InlayHint]:
    """One hint at the end of each layer line between lines ``first`` and ``last`` (0-based, inclusive)."""
    lines = source_lines(analysis.source)
    hints = []
    for number, reports in sorted(_lines_of_layers(analysis).items()):
        if number < first or (last is not None and number > last) or number >= len(lines):
            continue
        end = len(lines[number].rstrip())
        hints.append(types.InlayHint(types.Position(number, end), hint_label(reports), types.InlayHintKind.Type,
                                     padding_left=True))
    return hints


def _hover_rows(r: LayerReport) -> list[tuple[str, str]]:
    rows = [("input", report.shape(r.input)), ("output", report.shape(r.output)),
            ("params", report.num(r.params) + (f" (buffers {report.num(r.buffers)})" if r.buffers else "")
             if r.layer.shares is None else f"{r.layer.shares.owner}'s (share={r.layer.shares.ref})"),
            ("MACs", report.num(r.macs))]
    if r.receptive_field is not None:
        rows.append(("receptive field", report.shape(r.receptive_field)))
    if r.fan_in is not None:
        density = f" ({report.ratio(r.density, percent=True)} of the input)" if r.density is not None else ""
        rows.append(("fan-in", report.num(r.fan_in) + density))
    if r.sharing is not None:
        rows.append(("sharing", f"{report.ratio(r.sharing)} (a dense layer: {report.num(r.dense_params)} params)"))
    return rows


def _hover_layer(r: LayerReport) -> str:
    kind = report._row(r)[1]
    table = "\n".join(f"| {name} | {value} |" for name, value in _hover_rows(r))
    return f"**{r.layer.name}** · {kind} · line {r.layer.line}\n\n| | |\n|---|---|\n{table}"


def _hover_call(reports: list[LayerReport]) -> str:
    first, last = reports[0], reports[-1]
    params, macs = (sum(r.params or 0 for r in reports), sum(r.macs or 0 for r in reports))
    shares = first.layer.shares
    counted = report.num(params) if shares is None or shares.span.line == first.layer.line else \
        f"{shares.ref}'s (share={shares.ref})"  # a call that shares: its layers' params are REF's
    rows = [("input", report.shape(first.input)), ("output", report.shape(last.output)),
            ("params", counted), ("MACs", report.num(macs))]
    if last.receptive_field is not None:
        rows.append(("receptive field", report.shape(last.receptive_field)))
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"**{len(reports)} layers**: {first.layer.name} … {last.layer.name}\n\n| | |\n|---|---|\n{table}"


def hover(analysis: Analysis, line: int) -> types.Hover | None:
    """Shapes and figures of the layer(s) on a 0-based line, of a block call, of the input, or of the outputs."""
    called = _by_call(analysis).get(line)
    if called:
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, _hover_call(called)))
    reports = _by_line(analysis).get(line)
    if reports:
        shown = [_hover_layer(r) for r in reports[:HOVER_LAYERS]]
        if len(reports) > HOVER_LAYERS:
            shown.append(f"… and {len(reports) - HOVER_LAYERS} more layers from this line")
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, "\n\n---\n\n".join(shown)),
                           to_range(reports[0].layer.span))
    model = analysis.model
    if model is not None and model.input is not None and model.input_span.line - 1 == line:
        size = 1
        for d in model.input:
            size *= d or 0
        text = f"**input** {report.shape(model.input)} ({report.num(size)} values per sample)"
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text), to_range(model.input_span))
    return _hover_outputs(analysis, line)


def _hover_outputs(analysis: Analysis, line: int) -> types.Hover | None:
    """On the `output` line: what forward returns, in order, with each output's shape."""
    model, lines = analysis.model, source_lines(analysis.source)
    if model is None or not model.declared_outputs or line >= len(lines) or \
            lines[line].split("#", 1)[0].split()[:1] != ["output"]:
        return None
    several = len(model.declared_outputs) > 1
    head = f"**outputs**: forward returns a tuple of {len(model.declared_outputs)}" if several else \
        "**output**: forward returns it"
    rows = "\n".join(f"| {index} | {name} | {report.shape(analysis.shape_of(name))} |"
                     for index, name in enumerate(model.declared_outputs))
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown,
                                           f"{head}\n\n| | layer | shape |\n|---|---|---|\n{rows}"))


def definition(analysis: Analysis, line: int, character: int) -> types.Range | None:
    """Where the name under the cursor is defined: a label, `in`, `input`, a layer's default name, or a block."""
    lines = source_lines(analysis.source)
    if line >= len(lines):
        return None
    word = scan.word_at(lines[line], character)
    if word is None:
        return None
    name = scan.part_at(word, character)
    all_blocks = scan.blocks(lines)
    here = scan.scope(all_blocks, line)
    head = name.split(".")[0]
    layer = _layer_named(analysis, name)
    if layer is not None and "." in name:  # `d1.skip`: the labelled layer inside the instance
        return layer
    found = _label_in_scope(lines, all_blocks, here, head, line)
    if found is not None:
        return _place_range(found)
    if head == "in" and here is not None:
        return _place_range(here.place)
    if head == "input" and analysis.model is not None and analysis.model.input is not None:
        return to_range(analysis.model.input_span)
    if layer is not None:  # a default name: `conv1`
        return layer
    block = next((b for b in all_blocks if b.place.name == head), None)
    return _place_range(block.place) if block else None


def _layer_named(analysis: Analysis, name: str) -> types.Range | None:
    """A layer the Analysis knows by this name: `d1.skip` (its label in the body) or a default name (`conv1`)."""
    for r in analysis.layers:
        layer = r.layer
        if layer.name != name:
            continue
        if not layer.labelled:
            return to_range(layer.span)
        start, width = layer.span, len(name.rsplit(".", 1)[-1])
        return types.Range(types.Position(start.line - 1, start.column - 1),
                           types.Position(start.line - 1, start.column - 1 + width))
    return None


def _label_in_scope(lines: list[str], all_blocks: list[scan.Block], here: scan.Block | None, name: str,
                    line: int) -> scan.Place | None:
    """The label ``name`` in the cursor's scope: the nearest one above, else the first below."""
    same = [p for p in scan.labels(lines) if p.name == name and scan.scope(all_blocks, p.line) == here]
    above = [p for p in same if p.line <= line]
    return above[-1] if above else (same[0] if same else None)
