"""Shape inference over a Model: per-layer reports, "why convolutions" figures,
receptive fields and totals. Pure Python, no torch.

For every conv and fc layer (the course's lecture 1.11):
  fan_in        inputs each output unit sees (sparsity of connections)
  density       fan_in / size of the layer's input volume
  dense_params  parameters of a dense layer between the same two volumes
  sharing       dense_params / params (what parameter sharing saves)
  reuse         output positions each weight is applied at
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir, shapes
from .diagnostics import Diagnostic
from .ir import Pair, Shape


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
    jump: Pair | None = None


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

    def window(self, kernel: Pair, stride: Pair, dilation: Pair = (1, 1)) -> _Field:
        r = tuple(r + (k - 1) * d * j for r, k, d, j in zip(self.r, kernel, dilation, self.j))
        j = tuple(j * s for j, s in zip(self.j, stride))
        return _Field(r, j, self.extent)  # type: ignore[arg-type]

    def whole_map(self) -> _Field:
        """A layer that sees the whole remaining map (fc, global pooling)."""
        if self.extent is None:
            return self
        moved = self.window(self.extent, self.extent)
        return _Field(moved.r, moved.j, (1, 1))


def _next_field(field: _Field | None, layer: ir.Layer, out: Shape | None) -> _Field | None:
    if field is None:
        return None
    if isinstance(layer, (ir.Conv, ir.Pool)):
        dilation = layer.dilation if isinstance(layer, ir.Conv) else (1, 1)
        moved = field.window(layer.kernel, layer.stride, dilation)
        extent = (out[0], out[1]) if out and len(out) == 3 and None not in out[:2] else None
        return _Field(moved.r, moved.j, extent)  # type: ignore[arg-type]
    if isinstance(layer, (ir.Dense, ir.GlobalPool)):
        return field.whole_map()
    if isinstance(layer, ir.Invalid):
        return None
    return field


def _figures(layer: ir.Layer, result: shapes.Result, shape: Shape | None) -> dict:
    if not isinstance(layer, (ir.Conv, ir.Dense)) or result.fan_in is None:
        return {}
    n_in, n_out = shapes.size_of(shape), shapes.size_of(result.output)
    if n_in is None or n_out is None or not result.params:
        return {"fan_in": result.fan_in}
    dense = n_in * n_out + (n_out if layer.bias else 0)
    reuse = n_out // layer.filters if isinstance(layer, ir.Conv) else 1
    return {"fan_in": result.fan_in, "density": result.fan_in / n_in, "dense_params": dense,
            "sharing": dense / result.params, "reuse": reuse}


def infer(model: ir.Model) -> tuple[tuple[LayerReport, ...], Totals, list[Diagnostic]]:
    """Walk the layers once, left to right: linear in the spec's length."""
    shape: Shape | None = model.input
    field: _Field | None = None
    if shape is not None:
        field = _Field((1, 1), (1, 1), (shape[0], shape[1]) if len(shape) == 3 else (1, shape[0]))
    reports, diagnostics = [], []
    for layer in model.layers:
        result = shapes.RULES[type(layer)](layer, shape)
        diagnostics.extend(result.diagnostics)
        field = _next_field(field, layer, result.output)
        reports.append(LayerReport(
            layer, shape, result.output, result.params, result.buffers, result.macs,
            shapes.size_of(result.output), result.in_channels, result.pads,
            receptive_field=field and field.r, jump=field and field.j,
            **_figures(layer, result, shape)))
        shape = result.output
    params = sum(r.params or 0 for r in reports)
    totals = Totals(params, params, sum(r.buffers for r in reports), sum(r.macs or 0 for r in reports),
                    sum(r.activations or 0 for r in reports))
    return tuple(reports), totals, diagnostics
