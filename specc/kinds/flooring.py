"""Where a map lost rows to flooring, traced along the graph (specc.infer) for concat's E205. No torch.

A strided window (pooling, strided conv) on a size it does not divide floors
it: 25 rows pooled by 2 give 12, and an upsampling path that doubles them
again gives 24, no longer the skip's 25. Every layer's Trace lists the
floorings upstream of it and the product of the strides on its path, so a
concat that does not fit can say which pooling floored which size and what
input sizes work (multiples of that product).
"""

from __future__ import annotations

from .. import ir
from ..ir import Shape
from ..record import NamedTuple
from .geometry import AXIS_NAMES, is_known, is_window
from .values import MAX_INT


class Floor(NamedTuple):
    """A pooling or strided window that drops border rows: where, on which axis, in and out sizes."""

    layer: str
    line: int
    kind: str
    axis: int
    size: int  # in
    stride: int
    out: int | None  # None where the window leaves nothing of the map (E201)


class Trace(NamedTuple):
    """None and None once past MAX_FLOORS floorings or a scale of MAX_INT (UNTRACED): no advice
    from there on, and no tuple that grows with every strided layer of a long stack."""

    floors: tuple[Floor, ...] | None = ()
    scale: tuple[int, ...] | None = ()  # the product of the strides on the deepest path, per axis; () before any


UNTRACED = Trace(None, None)
MAX_FLOORS = 64  # more floorings than a message can list


def step(layer: ir.Layer, shape: Shape | None, pads: tuple | None, out: Shape | None,
         before: list[Trace]) -> Trace:
    """The trace after ``layer``: its inputs' floorings (all of them, through a merge) and its own.

    Most layers floor nothing and keep the scale: they share their input's Trace."""
    trace = before[0] if len(before) == 1 else _merged(before)
    if pads is None or out is None or not is_window(layer) or not is_known(shape):  # pads: a window's alone
        return trace
    floors = trace.floors  # None only in UNTRACED
    if set(layer.stride) == {1} or floors is None:
        return trace  # a stride of 1 floors nothing and keeps the scale (() stays all ones)
    rank = len(shape) - 1
    own = []
    rounds_up = getattr(layer, "round", "down") == "up"  # a pooling's round=up floors nothing
    for i in range(rank):
        window = layer.dilation[i] * (layer.kernel[i] - 1) + 1
        if not rounds_up and (shape[i] + pads[2 * i] + pads[2 * i + 1] - window) % layer.stride[i]:
            own.append(Floor(layer.name, layer.line, layer.kind, i, shape[i], layer.stride[i], out[i]))
    scale = tuple(s * t for s, t in zip(trace.scale or (1,) * rank, layer.stride))
    if not own and scale == trace.scale:
        return trace
    if len(floors) + len(own) > MAX_FLOORS or max(scale) > MAX_INT:
        return UNTRACED
    return Trace(floors + tuple(own), scale)


def _merged(before: list[Trace]) -> Trace:
    """The floorings of all inputs, each once, and the largest scale per axis."""
    if before and all(t == before[0] for t in before):
        return before[0]  # a residual's inputs usually share one trace
    each: list[tuple[Floor, ...]] = []
    for t in before:
        if t.floors is None:  # UNTRACED
            return UNTRACED
        each.append(t.floors)
    floors = tuple(dict.fromkeys(f for found in each for f in found))
    scales = [t.scale for t in before if t.scale]
    return Trace(floors, tuple(max(axis) for axis in zip(*scales)) if scales else ())


def explain(small: Trace, large: Trace, network: Shape | None, axes: list[int]) -> str | None:
    """Why one operand came out smaller: the floorings only its path has, and the input sizes that work."""
    if small.floors is None or large.floors is None:  # UNTRACED
        return None
    found = [f for f in small.floors if f not in large.floors and f.axis in axes]
    if not found or not small.scale or not is_known(network) or len(network) < 2:
        return None
    names = AXIS_NAMES.get(len(network) - 1, ())
    said = "; ".join(f"{f.layer} (line {f.line}, {f.kind}) floored {names[f.axis]} {f.size} to {f.out} "
                     f"({f.size}/{f.stride})" for f in found)
    works = []
    for axis in sorted({f.axis for f in found}):
        n, m = network[axis], small.scale[axis]
        lower, upper = max(n // m * m, m), -(-n // m) * m
        example = f"{lower} or {upper}" if lower != upper else str(lower)
        works.append(f"input {names[axis]}s that work are multiples of {m} (e.g. {example}; this one is {n})")
    return f"{said}; {', '.join(works)}"

