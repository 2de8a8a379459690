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

import math

from .. import ir
from ..analysis import LayerReport, Totals
from ..diagnostics import Diagnostic
from ..ir import Pair, Shape
from ..kinds import SHAPE_RULES, AdaptivePool, Conv, ConvTranspose, Dense, Merge, Upsample, flooring, invalid
from ..kinds.geometry import Result, is_known, is_window, size_of
from ..kinds.merge import Operand
from ..kinds.values import MAX_INT
from ..record import NamedTuple
from . import computed
from .rank import fit
from .shared import Owners
from .sizes import capped


class _Field(NamedTuple):
    """Receptive-field state: size r and jump j per axis (Fractions after an
    upsampling), the spatial extent a whole-map layer (fc, global pooling) would
    cover next, and r and j as reported. Pointwise layers pass it on as it is."""

    r: tuple
    j: tuple
    extent: Pair | None
    size: Pair  # r in whole input units, rounded up
    jump: tuple[int | float, ...]  # j as an int, or a fraction's float

    def window(self, kernel: Pair, stride: Pair, dilation: Pair, extent: Pair | None) -> _Field | None:
        r = tuple(r + (k - 1) * d * j for r, k, d, j in zip(self.r, kernel, dilation, self.j))
        j = tuple(j * s for j, s in zip(self.j, stride))
        return _field(r, self.j if j == self.j else j, extent)  # stride 1: reports share one jump

    def transposed(self, kernel: Pair, stride: Pair, dilation: Pair, extent: Pair | None) -> _Field | None:
        """A transposed conv: an output unit reads ceil(k / (s/gcd(s, d))) input units, d/gcd(s, d) apart."""
        taps = [-(-k // (s // math.gcd(s, d))) for k, s, d in zip(kernel, stride, dilation)]
        r = tuple(r + (t - 1) * (d // math.gcd(s, d)) * j for r, t, s, d, j in
                  zip(self.r, taps, stride, dilation, self.j))
        return _field(r, _divided(self.j, stride), extent)

    def upsampled(self, factor: Pair, spread: int, extent: Pair | None) -> _Field | None:
        """Nearest (spread 0): one input unit per output unit; (bi)linear (spread 1): two neighbours."""
        r = tuple(r + (spread * j if f > 1 else 0) for r, f, j in zip(self.r, factor, self.j))
        return _field(r, _divided(self.j, factor), extent)

    def adaptive(self, out: Pair, extent: Pair | None) -> _Field | None:
        """Adaptive pooling (`out=`): the widest of its windows, and a jump of n/out input units."""
        if self.extent is None:
            return None
        from ..kinds.pool import largest_window

        kernel = tuple(largest_window(n, o) for n, o in zip(self.extent, out))
        r = tuple(r + (k - 1) * j for r, k, j in zip(self.r, kernel, self.j))
        whole = all(n % o == 0 for n, o in zip(self.extent, out))
        jump = tuple(j * (n // o) for j, n, o in zip(self.j, self.extent, out)) if whole else \
            tuple(j * d for j, d in zip(self.j, _divided(self.extent, out)))
        return _field(r, jump, extent)

    def whole_map(self) -> _Field | None:
        """A layer that sees the whole remaining map (fc, global pooling)."""
        if self.extent is None:
            return self
        return self.window(self.extent, self.extent, (1,) * len(self.extent), (1, 1))


def _field(r: tuple, j: tuple, extent: Pair | None) -> _Field | None:
    """A field with its reported forms, which are r and j themselves while both are whole numbers;
    None (unknown from here on) past MAX_INT input units, or with a jump finer than 1/MAX_INT: a
    stack of strided layers on a 1x1 map would otherwise double it at every layer, without end."""
    if len(set(r)) == 1:
        r = (r[0],) * len(r)  # a square field's axes hold one int: past 256 each would be an object of its own
    if all(type(v) is int and v <= MAX_INT for v in (*r, *j)):
        return _Field(r, j, extent, r, j)
    if any(v > MAX_INT or v.denominator > MAX_INT for v in (*r, *j)):  # an int past it, or a fraction
        return None
    jump = tuple(int(v) if v.denominator == 1 else float(v) for v in j)
    return _Field(r, j, extent, tuple(math.ceil(v) for v in r), jump)


def _start(shape: tuple[int, ...] | None) -> _Field | None:
    if shape is None:
        return None
    if len(shape) == 1:
        return _field((1, 1), (1, 1), (1, shape[0]))
    rank = len(shape) - 1
    return _field((1,) * rank, (1,) * rank, shape[:-1])


def _next_field(fields: list[_Field | None], layer: ir.Layer, out: Shape | None) -> _Field | None:
    """The receptive field after ``layer``, from its inputs' (the widest, through a merge)."""
    if not fields or None in fields or layer.receptive == "none":
        return None
    known: list[_Field] = fields  # type: ignore[assignment]  # None is not in it: returned above
    field = known[0] if len(known) == 1 else max(known, key=lambda f: (f.r, f.j))
    if layer.receptive == "pointwise":
        return field
    if layer.receptive == "whole":
        return field.whole_map()
    spatial = out[:-1] if out and len(out) >= 2 else None
    extent = spatial if is_known(spatial) else None
    if is_window(layer):
        return field.window(layer.kernel, layer.stride, layer.dilation, extent)
    if isinstance(layer, ConvTranspose):  # receptive "transposed"
        return field.transposed(layer.kernel, layer.stride, layer.dilation, extent)
    if isinstance(layer, AdaptivePool):  # receptive "adaptive"
        return field.adaptive(layer.out, extent)
    if isinstance(layer, Upsample):  # receptive "upsample"
        return field.upsampled(layer.factor, 0 if layer.mode == "nearest" else 1, extent)
    return field


class _Shared(dict):
    """Equal values as one object: ``shared[value]`` is the first value equal to it that it was given.
    A spec has few distinct shapes and counts, and an int past 256 is an object of 32 bytes."""

    def __missing__(self, value):
        self[value] = value
        return value


_NO_FIGURES = (None,) * 3


def _divided(jumps: tuple, by: Pair) -> tuple:
    """Jumps of a fraction of an input unit (upsampling, transposed convs), exact: the
    fractions module is imported only for them, not by every check."""
    from fractions import Fraction

    return tuple(Fraction(j) / d for j, d in zip(jumps, by))


def _figures(layer: ir.Layer, result: Result, shape: Shape | None, n_out: int | None,
             shared: _Shared) -> tuple:
    """fan_in, dense_params and reuse (the module's docstring; LayerReport works out density
    and sharing from them); None where unknown."""
    if not layer.weighted or result.fan_in is None:
        return _NO_FIGURES
    n_in = size_of(shape)
    if n_in is None or n_out is None or not result.params:
        return (shared[result.fan_in], None, None)
    assert isinstance(layer, (Conv, ConvTranspose, Dense))  # the weighted trait: a conv or fc layer (specc.ir)
    dense = n_in * n_out + (n_out if layer.bias else 0)
    if isinstance(layer, Conv):
        reuse = n_out // layer.filters
    elif isinstance(layer, ConvTranspose):
        assert is_known(shape)  # size_of gave n_in
        reuse = n_in // shape[-1]  # each weight meets every input position once
    else:
        reuse = 1
    return shared[result.fan_in], shared[dense], shared[reuse]


def _report(layer: ir.Layer, shape: Shape | None, out: Shape | None, pads: ir.Pads | None,
            result: Result, field: _Field | None, shared: _Shared) -> LayerReport:
    """The layer's report, its counts those equal ones of earlier reports hold (``shared``)."""
    activations = shared[size_of(out)]
    fan_in, dense_params, reuse = _figures(layer, result, shape, activations, shared)
    return LayerReport(layer, shape, out, shared[result.params], shared[result.buffers], shared[result.macs],
                       activations, result.in_channels, pads, fan_in, dense_params, reuse,
                       None if field is None else field.size, None if field is None else field.jump)


def _noted(found: tuple[Diagnostic, ...], layer: ir.Layer) -> tuple[Diagnostic, ...]:
    """Diagnostics of a layer inside a block carry the notes of its call sites."""
    if not layer.notes or not found:
        return found
    return tuple(d._replace(notes=layer.notes) for d in found)


class _Output(NamedTuple):
    """What later layers read of a layer: its output shape, its receptive field,
    the floorings upstream of it, and the layer (None for the network's input)."""

    shape: Shape | None
    field: _Field | None
    trace: flooring.Trace
    layer: ir.Layer | None


_UNKNOWN = _Output(None, None, flooring.Trace(), None)


def _resolved(layer: ir.Layer, outputs: dict[str, _Output], diagnostics: list[Diagnostic]) -> ir.Layer:
    """The layer with its computed values (`in.c*6`), or Invalid (output unknown) when one fails."""
    resolved, problems, complete = computed.resolve(layer, lambda name: outputs.get(name, _UNKNOWN).shape)
    diagnostics += _noted(tuple(problems), layer)
    if complete:
        return resolved
    return invalid.of(layer)


def _shared(layer: ir.Layer, result: Result, shapes: tuple[Shape | None, ...], owners: Owners,
            diagnostics: list[Diagnostic]) -> tuple[ir.Layer, Result]:
    """A layer that shares REF's parameters counts none of its own; one that cannot (E123) keeps its own."""
    owners.met(layer, shapes)
    if layer.shares is None:
        return layer, result
    shares, problems = owners.check(layer, shapes)
    diagnostics += problems
    if not shares:
        return layer.sharing(None), result
    return layer, result._replace(params=0, buffers=0)


def _operand(name: str, read: _Output, network: Shape | None) -> Operand:
    line, kind = (None, "input") if read.layer is None else (read.layer.line, read.layer.kind)
    return Operand(name, line, kind, read.shape, read.trace, network)


def _named(model: ir.Model) -> dict[str, str]:
    """For each output a computed value names (`conv1.h`), the name of the last layer that reads or
    names it: that value reads it as an input does, and the index of the edges (ir.readers) has no such reads."""
    last: dict[str, str] = {}
    if not model.deferred:
        return last
    for layer in model.layers:
        if layer.name in model.deferred:
            last.update(dict.fromkeys(computed.references(layer), layer.name))
        for name in layer.inputs:
            if name in last:
                last[name] = layer.name
    return last


def infer(model: ir.Model, readers: ir.Readers | None = None) -> tuple[ir.Model, tuple[LayerReport, ...], Totals,
                                                                       list[Diagnostic]]:
    """The model as inferred, its layers' reports, the totals and the diagnostics; the layers are
    visited once, in source order: linear in the spec's length.

    The model returned holds the layers as the reports do: computed values filled in, window
    values fitted to the input's rank, a dwconv's filters and groups, what a rule resolved (a
    convtranspose's padding); Invalid where one failed.
    It is ``model`` itself when no layer changed. A layer's _Output is let go once its last
    reader has read it (``readers``: ir.readers of the model's layers, made here when not given):
    a long stack holds a few at a time rather than one per layer. Where two layers share a name
    (E108), which tells readers apart, every output is kept."""
    outputs = {ir.INPUT: _Output(model.input, _start(model.input), flooring.Trace(), None)} if not model.inputs \
        else {i.name: _Output(i.shape, _start(i.shape), flooring.Trace(), None) for i in model.inputs}
    readers = ir.readers(model.layers) if readers is None else readers
    named = _named(model)
    reports: list[LayerReport] = []
    diagnostics: list[Diagnostic] = []
    shared = _Shared()  # of this run only: it goes with the last report
    bounded: set[Shape | None] = set()  # the output shapes found within MAX_INT
    changed = False  # whether some layer was rewritten: the model's layers are then the reports'
    owners = Owners(model.owners) if model.owners else None  # `share=`
    for lowered in model.layers:
        layer, reads = lowered, lowered.inputs  # the outputs it reads: its inputs', and those its computed values name
        if layer.name in model.deferred:
            reads = (*reads, *computed.references(layer))
            layer = _resolved(layer, outputs, diagnostics)
        ins = [outputs.get(name, _UNKNOWN) for name in layer.inputs]
        for name in reads if readers.unique else ():  # those whose last reader this is
            last = (named and named.get(name)) or readers.get(name)  # None: a wrong reference, read as unknown
            if (last[-1] if isinstance(last, list) else last) == lowered.name:  # ir.last_reader, without a call
                outputs.pop(name, None)
        shape = ins[0].shape if ins else None
        if isinstance(layer, Merge):
            operands = [_operand(name, read, model.input) for name, read in zip(layer.inputs, ins)]
            result = SHAPE_RULES[type(layer)](layer, *operands)
        else:  # one input (an Invalid line may have none or several: its rule reads none)
            layer, problems = fit(layer, shape)
            if problems:
                diagnostics += _noted(problems, layer)
            result = SHAPE_RULES[type(layer)](layer, shape)
        if result.layer is not None:  # the layer with what its rule resolved (a convtranspose's padding)
            layer = result.layer
        if result.diagnostics:
            diagnostics += _noted(result.diagnostics, layer)
        if owners is not None:
            layer, result = _shared(layer, result, tuple(read.shape for read in ins), owners, diagnostics)
        out = result.output
        if out not in bounded:  # a spec has few shapes: each is held to the bound once
            out, too_large = capped(layer, shape, out)
            if too_large:
                diagnostics += _noted((too_large,), layer)
            else:
                bounded.add(out)
        out, pads = shared[out], shared[result.pads]
        field = _next_field([read.field for read in ins], layer, out)
        reports.append(_report(layer, shape, out, pads, result, field, shared))
        changed = changed or layer is not lowered
        trace = flooring.step(layer, shape, pads, out, [read.trace for read in ins])
        outputs[layer.name] = _Output(out, field, trace, layer)
    params = sum(r.params or 0 for r in reports)
    totals = Totals(params, params, sum(r.buffers for r in reports), sum(r.macs or 0 for r in reports),
                    sum(r.activations or 0 for r in reports))
    if changed:
        model = model._replace(layers=tuple(r.layer for r in reports))
    return model, tuple(reports), totals, diagnostics
