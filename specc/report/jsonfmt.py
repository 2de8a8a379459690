"""The JSON report, exactly as ../shared/spec-language.md defines it (plus keys).

One object per file, a JSON array for several files. Integers stay exact
integers; density is rounded to 3 significant digits, sharing to one decimal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..diagnostics import Diagnostic
from ..errors import json_safe
from ..infer import LayerReport
from ..pipeline import Analysis


def sig(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else float(f"{x:.{digits}g}")


def sharing(x: float | None) -> float | None:
    if x is None:
        return None
    return round(x, 1) if x >= 1 else sig(x)


def _shape(shape) -> list | None:
    return None if shape is None else list(shape)


def _larger(pair) -> int | None:
    return None if pair is None else max(pair)


def layer_json(r: LayerReport) -> dict:
    layer = r.layer
    entry = {
        "name": layer.name, "kind": layer.kind, "line": layer.line, "output": _shape(r.output),
        "activations": r.activations, "params": r.params, "macs": r.macs,
        "fan_in": r.fan_in, "density": sig(r.density), "dense_params": r.dense_params,
        "sharing": sharing(r.sharing), "reuse": r.reuse,
        "receptive_field": _larger(r.receptive_field), "jump": _larger(r.jump),
        "receptive_field_hw": _shape(r.receptive_field), "jump_hw": _shape(r.jump),
        "input": _shape(r.input), "buffers": r.buffers, "label": layer.name if layer.labelled else None,
        "inputs": list(layer.inputs), "block": layer.block,
    }
    function = layer.activation_function
    if function is not None:
        entry["activation"] = function
    if r.pads is not None:
        entry["padding"] = list(r.pads)
    return entry


def diagnostic_json(d: Diagnostic) -> dict:
    entry = {"severity": d.severity, "code": d.code, "line": d.span.line, "column": d.span.column,
             "end_line": d.span.end_line, "end_column": d.span.end_column, "message": d.message}
    if d.help:
        entry["help"] = d.help
    if d.notes:
        entry["notes"] = [{"message": n.message, "line": n.span.line, "column": n.span.column} for n in d.notes]
    return entry


def analysis_json(a: Analysis, batch: int | None = None, optimizer: str | None = None) -> dict:
    t = a.totals
    entry = {
        "file": a.path, "model": a.model.name if a.model else None, "ok": a.ok,
        "input": _shape(a.model.input) if a.model else None,
        "output": _shape(a.output),
        "layers": [layer_json(r) for r in a.layers],
        "totals": {"params": t.params, "trainable_params": t.trainable_params, "buffers": t.buffers,
                   "macs": t.macs, "flops": 2 * t.macs, "activations": t.activations,
                   "size_bytes": t.size_bytes},
        "diagnostics": [diagnostic_json(d) for d in a.diagnostics],
    }
    if batch is not None and a.layers:  # `specc check --batch N`: specc.memory's estimate
        from ..memory import estimate

        entry["training_memory"] = estimate(a, batch, optimizer).as_dict()
    return entry


def render(analyses: Sequence[Analysis], *, batch: int | None = None, optimizer: str | None = None,
           **_: object) -> str:
    data = [analysis_json(a, batch, optimizer) for a in analyses]
    # Control characters of a file name or spec stay data: escaped, never sent raw to a terminal.
    return json_safe(json.dumps(data[0] if len(data) == 1 else data, indent=2, ensure_ascii=False))
