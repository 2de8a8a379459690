"""The JSON report, exactly as ../shared/spec-language.md defines it (plus keys).

One object per file, a JSON array for several files. Integers stay exact
integers; density is rounded to 3 significant digits, sharing to one decimal.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..analysis import Analysis, LayerReport
from ..diagnostics import Diagnostic
from ..ir import INPUT
from . import jsontext


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


# The members of a layer's object, in order; then those a layer has only where they are not None.
LAYER_KEYS = ("name", "kind", "line", "output", "activations", "params", "macs", "fan_in", "density",
              "dense_params", "sharing", "reuse", "receptive_field", "jump", "receptive_field_hw", "jump_hw",
              "input", "buffers", "label", "inputs", "block")
# A fused activation; the padding a layer resolved; a droppath's rate; the layer whose parameters it uses (`share=`).
LAYER_EXTRAS = ("activation", "padding", "rate", "shares")
LAYER_ARRAYS = {"output", "receptive_field_hw", "jump_hw", "input", "inputs", "padding"}


def layer_values(r: LayerReport) -> tuple:
    """The values of LAYER_KEYS and LAYER_EXTRAS for a layer, arrays as tuples (json writes them as lists)."""
    layer = r.layer
    return (layer.name, layer.kind, layer.line, r.output, r.activations, r.params, r.macs, r.fan_in,
            sig(r.density), r.dense_params, sharing(r.sharing), r.reuse, _larger(r.receptive_field),
            _larger(r.jump), r.receptive_field, r.jump, r.input, r.buffers, layer.name if layer.labelled else None,
            layer.inputs, layer.block, layer.activation_function, r.pads, drop_rate(layer),
            layer.shares.owner if layer.shares is not None else None)


def drop_rate(layer) -> float | None:
    """A droppath's rate, resolved by lowering for a bare `droppath` (from `train droppath=`); else None."""
    return layer.rate if layer.kind == "droppath" else None


def layer_json(r: LayerReport) -> dict:
    values = [_shape(v) if isinstance(v, tuple) else v for v in layer_values(r)]
    entry = dict(zip(LAYER_KEYS, values))
    for key, extra in zip(LAYER_EXTRAS, values[len(LAYER_KEYS):]):
        if extra is not None:
            entry[key] = extra
    return entry


# Layers rendered at a time: a chunk's intermediate texts stay in the CPU's caches and their memory is
# reused by the next chunk, so the cost per layer stays nearly flat up to 100,000 layers (a whole
# column at a time cost 14x from 10k to 100k layers; chunks of 1,000 cost 20% more than 250 at 100k).
CHUNK = 250


def _layers_pieces(reports: Sequence[LayerReport], level: int) -> Iterator[str]:
    """The text of ``[layer_json(r) for r in reports]`` nested ``level`` deep, a chunk of
    layers at a time, so that it is never held whole."""
    if not reports:
        yield "[]"
        return
    row = jsontext.template(LAYER_KEYS, level + 1, tails=len(LAYER_EXTRAS))
    separator = ",\n" + jsontext.INDENT * (level + 1)
    yield "[\n" + jsontext.INDENT * (level + 1)
    for start in range(0, len(reports), CHUNK):
        texts = _layer_texts(reports[start:start + CHUNK], row, level + 1)
        yield (separator if start else "") + separator.join(texts)
    yield f"\n{jsontext.INDENT * level}]"


def _layer_texts(reports: Sequence[LayerReport], row: str, level: int) -> list[str]:
    """Each layer's object nested ``level`` deep, its values written a column at a time."""
    columns = zip(*(layer_values(r) for r in reports))
    texts = [jsontext.arrays(column, level + 1) if key in LAYER_ARRAYS else jsontext.scalars(column)
             for key, column in zip((*LAYER_KEYS, *LAYER_EXTRAS), columns)]
    for i, key in enumerate(LAYER_EXTRAS, len(LAYER_KEYS)):  # the text after the last member: "" or a member
        member = f",\n{jsontext.INDENT * (level + 1)}{jsontext.scalars([key])[0]}: "
        texts[i] = ["" if text == "null" else member + text for text in texts[i]]
    return [row % values for values in zip(*texts)]


def diagnostic_json(d: Diagnostic) -> dict:
    entry = {"severity": d.severity, "code": d.code, "line": d.span.line, "column": d.span.column,
             "end_line": d.span.end_line, "end_column": d.span.end_column, "message": d.message}
    if d.help:
        entry["help"] = d.help
    if d.notes:
        entry["notes"] = [{"message": n.message, "line": n.span.line, "column": n.span.column} for n in d.notes]
    return entry


def analysis_json(a: Analysis, batch: int | None = None, optimizer: str | None = None) -> dict:
    return _analysis(a, [layer_json(r) for r in a.layers], batch, optimizer)


def _analysis(a: Analysis, layers: list[dict], batch: int | None, optimizer: str | None) -> dict:
    t = a.totals
    entry = {
        "file": a.path, "model": a.model.name if a.model else None, "ok": a.ok,
        "input": _shape(a.model.input) if a.model else None,
        **_inputs(a),
        "output": _shape(a.output),
        **_outputs(a),
        "layers": layers,
        "totals": {"params": t.params, "trainable_params": t.trainable_params, "buffers": t.buffers,
                   "macs": t.macs, "flops": 2 * t.macs, "activations": t.activations,
                   "size_bytes": t.size_bytes},
        "diagnostics": [diagnostic_json(d) for d in a.diagnostics],
    }
    if batch is not None and a.layers:  # `specc check --batch N`: specc.infer.training_memory's estimate
        from ..infer.training_memory import estimate

        entry["training_memory"] = estimate(a, batch, optimizer).as_dict()
    return entry


def _inputs(a: Analysis) -> dict:
    """`inputs` (every input, named, in order) where the spec names its inputs: several, or one labelled."""
    model = a.model
    if model is None or model.input_names == (INPUT,):
        return {}
    return {"inputs": [{"name": i.name, "shape": _shape(i.shape)} for i in model.inputs]}


def _outputs(a: Analysis) -> dict:
    """`outputs` (every output, named, in order) where the spec has an `output` line."""
    model = a.model
    if model is None or not model.declared_outputs:
        return {}
    return {"outputs": [{"name": name, "shape": _shape(a.shape_of(name))} for name in model.declared_outputs]}


_LAYERS = "\0layers\0"  # where the layers go in an analysis's text: a raw NUL is never part of JSON text


def _analysis_pieces(a: Analysis, level: int, batch: int | None, optimizer: str | None) -> Iterator[str]:
    """The text of ``analysis_json(a)`` nested ``level`` deep, in pieces: its layers by
    _layers_pieces, the rest by json.dumps."""
    members = {key: jsontext.dumps(value, level + 1) for key, value in _analysis(a, [], batch, optimizer).items()}
    members["layers"] = _LAYERS
    head, tail = jsontext.obj(members, level).split(_LAYERS)
    yield head
    yield from _layers_pieces(a.layers, level + 1)
    yield tail


def render(analyses: Sequence[Analysis], *, batch: int | None = None, optimizer: str | None = None,
           **_: object) -> str:
    """One object, or an array of them for several files. Control characters of a file name or spec stay
    data: jsontext escapes them, so they are never sent raw to a terminal."""
    return "".join(pieces(analyses, batch=batch, optimizer=optimizer))


def pieces(analyses: Sequence[Analysis], *, batch: int | None = None, optimizer: str | None = None,
           **_: object) -> Iterator[str]:
    """``render``'s text in pieces, in order, as they are made (`specc check` writes them so:
    the report of a large spec is never held whole)."""
    if len(analyses) == 1:
        yield from _analysis_pieces(analyses[0], 0, batch, optimizer)
        return
    if not analyses:
        yield "[]"
        return
    for index, a in enumerate(analyses):
        yield ",\n  " if index else "[\n  "
        yield from _analysis_pieces(a, 1, batch, optimizer)
    yield "\n]"
