"""Shape inference over a Model's graph: per-layer reports, "why convolutions"
figures, receptive fields and totals. Pure Python, no torch.

Layers are visited once, in source order (a topological order): each reads
the shapes and receptive fields of its inputs by name, so the pass is linear
in the spec's length whatever its branches.

For every conv and fc layer (the course's lecture 1.11):
  fan_in        inputs each output unit sees (sparsity of connections)
  density       fan_in / size of the layer's input volume
  dense_params  parameters of a dense layer between the same two volumes
  sharing       dense_params / params (what parameter sharing saves)
  reuse         output positions each weight is applied at
For a depthwise conv the figures are a grouped conv's (fan_in k·k, one input
channel per filter). For a transposed conv, fan_in is the most inputs one
output unit sees (C_in/g · ceil(k/s) per axis) and reuse the input positions
each weight is applied at (it spreads each input position onto the output).

Receptive fields are counted on the input's grid: upsampling and transposed
convolutions make the jump a fraction (two output units per input unit at
stride 2); a field is reported as the whole number of input units it touches.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction

from . import dims, floors, ir, shapes
from .diagnostics import Diagnostic
from .fit import fit
from .ir import Pair, Shape
from .shape_rules import RULES


@dataclass(frozen=True, slots=True)
class LayerReport:
    layer: ir.Layer
    input: Shape | None
    output: Shape | None
    params: int | None
    buffers: int
    macs: int | None
    activations: int | None
    in_channels: int | None = None
    pads: shapes.Pads | None = None  # top, bottom, left, right, resolved
    fan_in: int | None = None
    density: float | None = None
    dense_params: int | None = None
    sharing: float | None = None
    reuse: int | None = None
    receptive_field: Pair | None = None  # (height, width) on the input
    jump: tuple[int | float, ...] | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    params: int
    trainable_params: int
    buffers: int
    macs: int
    activations: int

    @property
    def size_bytes(self) -> int:
        """Weights and buffers at fp32."""
        return 4 * (self.params + self.buffers)


@dataclass(frozen=True, slots=True)
class _Field:
    """Receptive-field state: size r and jump j per axis, and the spatial extent
    a whole-map layer (fc, global pooling) would cover next."""

    r: Pair
    j: Pair
    extent: Pair | None

    def window(self, kernel: Pair, stride: Pair, dilation: Pair | None = None) -> _Field:
        dilation = dilation or (1,) * len(kernel)
        r = tuple(r + (k - 1) * d * j for r, k, d, j in zip(self.r, kernel, dilation, self.j))
        j = tuple(j * s for j, s in zip(self.j, stride))
        return _Field(r, j, self.extent)  # type: ignore[arg-type]

    def transposed(self, kernel: Pair, stride: Pair, dilation: Pair) -> _Field:
        """A transposed conv: an output unit reads ceil(k / (s/gcd(s, d))) input units, d/gcd(s, d) apart."""
        taps = [-(-k // (s // math.gcd(s, d))) for k, s, d in zip(kernel, stride, dilation)]
        r = tuple(r + (t - 1) * (d // math.gcd(s, d)) * j for r, t, s, d, j in
                  zip(self.r, taps, stride, dilation, self.j))
        return _Field(r, tuple(Fraction(j) / s for j, s in zip(self.j, stride)), self.extent)  # type: ignore[arg-type]

    def upsampled(self, factor: Pair, spread: int) -> _Field:
        """Nearest (spread 0): one input unit per output unit; (bi)linear (spread 1): two neighbours."""
        r = tuple(r + (spread * j if f > 1 else 0) for r, f, j in zip(self.r, factor, self.j))
        return _Field(r, tuple(Fraction(j) / f for j, f in zip(self.j, factor)), self.extent)  # type: ignore[arg-type]

    def whole_map(self) -> _Field:
        """A layer that sees the whole remaining map (fc, global pooling)."""
        if self.extent is None:
            return self
        moved = self.window(self.extent, self.extent)
        return _Field(moved.r, moved.j, (1, 1))


def _next_field(fields: list[_Field | None], layer: ir.Layer, out: Shape | None) -> _Field | None:
    """The receptive field after ``layer``, from its inputs' (the widest, through a merge)."""
    if any(f is None for f in fields) or not fields or layer.receptive == "none":
        return None
    field = max(fields, key=lambda f: (f.r, f.j))
    if layer.receptive in ("window", "transposed", "upsample"):
        if layer.receptive == "window":
            moved = field.window(layer.kernel, layer.stride, layer.dilation)
        elif layer.receptive == "transposed":
            moved = field.transposed(layer.kernel, layer.stride, layer.dilation)
        else:
            moved = field.upsampled(layer.factor, 0 if layer.mode == "nearest" else 1)
        extent = tuple(out[:-1]) if out and len(out) >= 2 and None not in out[:-1] else None
        return _Field(moved.r, moved.j, extent)  # type: ignore[arg-type]
    if layer.receptive == "whole":
        return field.whole_map()
    return field


def _figures(layer: ir.Layer, result: shapes.Result, shape: Shape | None) -> dict:
    if not layer.weighted or result.fan_in is None:
        return {}
    n_in, n_out = shapes.size_of(shape), shapes.size_of(result.output)
    if n_in is None or n_out is None or not result.params:
        return {"fan_in": result.fan_in}
    dense = n_in * n_out + (n_out if layer.bias else 0)
    if isinstance(layer, ir.Conv):
        reuse = n_out // layer.filters
    elif isinstance(layer, ir.ConvTranspose):
        reuse = n_in // shape[-1]  # each weight meets every input position once
    else:
        reuse = 1
    return {"fan_in": result.fan_in, "density": result.fan_in / n_in, "dense_params": dense,
            "sharing": dense / result.params, "reuse": reuse}


def _noted(found: tuple[Diagnostic, ...], layer: ir.Layer) -> tuple[Diagnostic, ...]:
    """Diagnostics of a layer inside a block carry the notes of its call sites."""
    if not layer.notes or not found:
        return found
    return tuple(dataclasses.replace(d, notes=layer.notes) for d in found)


def _resolved(layer: ir.Layer, shapes_of: dict[str, Shape | None], diagnostics: list[Diagnostic]) -> ir.Layer:
    """The layer with its computed values (`in.c*6`), or Invalid (output unknown) when one fails."""
    resolved, problems, complete = dims.resolve(layer, shapes_of.get)
    diagnostics += _noted(tuple(problems), layer)
    if complete:
        return resolved
    return ir.Invalid(kind=layer.kind, name=layer.name, labelled=layer.labelled, span=layer.span,
                      inputs=layer.inputs, block=layer.block, notes=layer.notes, spans=layer.spans)


def _start(shape: Shape | None) -> _Field | None:
    if shape is None:
        return None
    if len(shape) == 1:
        return _Field((1, 1), (1, 1), (1, shape[0]))
    rank = len(shape) - 1
    return _Field((1,) * rank, (1,) * rank, tuple(shape[:-1]))


def _units(values: tuple | None, whole: bool) -> tuple | None:
    """A field as reported: whole input units (rounded up), a jump as an int or a fraction's float."""
    if values is None:
        return None
    if whole:
        return tuple(math.ceil(v) for v in values)
    return tuple(int(v) if Fraction(v).denominator == 1 else float(v) for v in values)


def infer(model: ir.Model) -> tuple[tuple[LayerReport, ...], Totals, list[Diagnostic]]:
    """Visit the layers once, in source order: linear in the spec's length."""
    shapes_of: dict[str, Shape | None] = {ir.INPUT: model.input}
    fields: dict[str, _Field | None] = {ir.INPUT: _start(model.input)}
    reports, diagnostics = [], []
    traces: dict[str, floors.Trace] = {ir.INPUT: floors.Trace()}
    lines: dict[str, tuple[int | None, str]] = {ir.INPUT: (None, "input")}
    for layer in model.layers:
        if layer.name in model.deferred:
            layer = _resolved(layer, shapes_of, diagnostics)
        ins = [shapes_of.get(name) for name in layer.inputs]
        if not isinstance(layer, ir.Merge) and ins:
            layer, problems = fit(layer, ins[0])
            diagnostics += _noted(problems, layer)
        if isinstance(layer, ir.Merge):
            operands = [shapes.Operand(name, *lines[name], shapes_of.get(name), traces.get(name), model.input)
                        for name in layer.inputs]
            result = RULES[type(layer)](layer, *operands)
        else:
            result = RULES[type(layer)](layer, *ins)
        diagnostics.extend(_noted(result.diagnostics, layer))
        field = _next_field([fields.get(name) for name in layer.inputs], layer, result.output)
        shape = ins[0] if ins else None
        reports.append(LayerReport(
            layer, shape, result.output, result.params, result.buffers, result.macs,
            shapes.size_of(result.output), result.in_channels, result.pads,
            receptive_field=_units(field and field.r, True), jump=_units(field and field.j, False),
            **_figures(layer, result, shape)))
        shapes_of[layer.name], fields[layer.name] = result.output, field
        traces[layer.name] = floors.step(layer, shape, result.pads, result.output,
                                         [traces[n] for n in layer.inputs if n in traces])
        lines[layer.name] = (layer.line, layer.kind)
    params = sum(r.params or 0 for r in reports)
    totals = Totals(params, params, sum(r.buffers for r in reports), sum(r.macs or 0 for r in reports),
                    sum(r.activations or 0 for r in reports))
    return tuple(reports), totals, diagnostics
