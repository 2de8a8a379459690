"""Merges: `add`, `subtract`, `concat` and `multiply`, which read two or more layers. Their IR, forms,
shape rules, emitters and what their backward keeps. No torch.

A merge's positional arguments are the layers it reads (specc.lower.scope resolves them;
with one, the line above comes first), and its rule takes one Operand per input, so
that a mismatch names them all. The element-wise merges share a rule (inputs of one
shape) and an emitter (their Python operator between the inputs): a new one such as
`subtract` is a class naming its operator and ONNX op, and a Kind.
"""

from __future__ import annotations

import math
from typing import ClassVar

from ..analysis import LayerReport
from ..diagnostics import error
from ..ir import Layer, Shape
from ..numbers import dims
from ..record import NamedTuple
from .base import Form, Kind
from .emitting import Context, Unit
from .flooring import Trace, explain
from .geometry import AXIS_NAMES, Result, is_known
from .saved import Saved, keeps_nothing, size

FAMILY = "merge"


class Merge(Layer):
    """A layer over its ``inputs`` (two or more); ``onnx_op`` is the node torch's exporter makes of it."""

    receptive: ClassVar[str] = "pointwise"  # the widest of its inputs'
    keeps_sign: ClassVar[bool] = True  # sums, products and concatenations of non-negative values
    merge: ClassVar[bool] = True
    onnx_op: ClassVar[str]


class Add(Merge):
    """Element-wise sum of inputs of one shape (a residual connection)."""

    linear: ClassVar[bool] = True
    operator: ClassVar[str] = "+"
    onnx_op: ClassVar[str] = "Add"


class Subtract(Merge):
    """Element-wise difference of inputs of one shape: the first minus the others (`subtract a`: the line above
    minus a)."""

    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = False  # a difference of non-negative values may be negative
    operator: ClassVar[str] = "-"
    onnx_op: ClassVar[str] = "Sub"


class Concat(Merge):
    """Inputs side by side along the channels (equal H and W); vectors end to end."""

    linear: ClassVar[bool] = True
    onnx_op: ClassVar[str] = "Concat"


class Multiply(Merge):
    """Element-wise product; a 1x1xC input scales every position of an HxWxC one (squeeze-excitation)."""

    operator: ClassVar[str] = "*"
    onnx_op: ClassVar[str] = "Mul"


class Operand(NamedTuple):
    """One input of a merge, as its error message names it."""

    name: str
    line: int | None  # None for the network's input
    kind: str
    shape: Shape | None
    trace: Trace | None = None  # the floorings upstream, for concat's message
    network: Shape | None = None  # the network's input shape

    def __str__(self) -> str:
        where = "the network's input" if self.line is None else f"line {self.line}, {self.kind}"
        return f"{self.name} ({where}, {dims(self.shape)})"


# --- shapes ---------------------------------------------------------------------------------------

def _mismatch(layer: Layer, operands: tuple[Operand, ...], shapes: list[tuple[int, ...]], axes: tuple[int, ...],
              what: str, fix: str) -> Result:
    """An E205 at the merge line naming every operand (of ``shapes``), the axis that differs and a fix."""
    rank = {len(shape) for shape in shapes}
    if len(rank) > 1:
        axis_text = "rank (a volume against a vector)"
    else:
        (r,) = rank
        names = ("size",) if r == 1 else (*AXIS_NAMES[r - 1], "channels")
        differ = [names[a] for a in axes if len({shape[a] for shape in shapes}) > 1]
        axis_text = " and ".join(differ)
    message = (f"`{layer.kind}` needs {what}, but its inputs differ in {axis_text}: "
               + ", ".join(str(o) for o in operands))
    return Result(None, 0, 0, 0, diagnostics=(error("E205", message, layer.span, fix),))


def _known(operands: tuple[Operand, ...]) -> list[tuple[int, ...]] | None:
    """The operands' shapes, in order, when every dimension of each is known; else None."""
    shapes = []
    for o in operands:
        if not is_known(o.shape):
            return None
        shapes.append(o.shape)
    return shapes


def _projection_hint(operands: tuple[Operand, ...], target: tuple[int, ...]) -> str:
    other = next(o for o in operands if o.shape != target)
    return (f"project {other.name} to {dims(target)} first, e.g. a 1x1 conv: "
            f"`conv {target[-1]} 1x1 from={other.name}` (with a stride if the maps differ in size)")


def elementwise(layer: Merge, *operands: Operand) -> Result:
    """Inputs of one shape, combined value by value (add, subtract)."""
    shapes = _known(operands)
    if shapes is None:
        return Result(next((o.shape for o in operands if o.shape is not None), None))
    first = shapes[0]
    if any(shape != first for shape in shapes):
        return _mismatch(layer, operands, shapes, tuple(range(len(first))), "inputs of one shape",
                         _projection_hint(operands, first))
    return Result(first)


def concat(layer: Concat, *operands: Operand) -> Result:
    shapes = _known(operands)
    if shapes is None:
        return Result(None)
    ranks = {len(shape) for shape in shapes}
    if ranks == {1}:
        return Result((sum(shape[0] for shape in shapes),))
    if len(ranks) > 1 or 1 in ranks or len({shape[:-1] for shape in shapes}) > 1:
        fix = _floored(operands, shapes) or (
            "crop, pad or resize one input so that height and width agree (a pooling that floors an odd "
            "size is the usual cause: make the input size divisible by 2 for each pooling)")
        return _mismatch(layer, operands, shapes, tuple(range(len(shapes[0]) - 1)), "equal height and width", fix)
    return Result((*shapes[0][:-1], sum(shape[-1] for shape in shapes)))


def _floored(operands: tuple[Operand, ...], shapes: list[tuple[int, ...]]) -> str | None:
    """Which strided layer floored which size, when that is why the maps differ (specc.kinds.flooring)."""
    if len({len(shape) for shape in shapes}) > 1:
        return None
    traced = [(o.trace, shape, o.network) for o, shape in zip(operands, shapes) if o.trace is not None]
    if len(traced) < len(operands):
        return None
    small = min(traced, key=lambda t: t[1][:-1])
    large = max(traced, key=lambda t: t[1][:-1])
    axes = [a for a in range(len(small[1]) - 1) if small[1][a] != large[1][a]]
    return explain(small[0], large[0], small[2], axes)


def multiply(layer: Multiply, *operands: Operand) -> Result:
    shapes = _known(operands)
    if shapes is None:
        return Result(None)
    largest = max(shapes, key=math.prod)
    for shape in shapes:
        scales = len(shape) == 3 and shape[:2] == (1, 1) and shape[2] == largest[-1]
        if shape != largest and not (len(largest) == 3 and scales):
            fix = (f"multiply inputs of one shape, or a 1x1x{largest[-1]} gate with the "
                   f"{dims(largest)} map (squeeze-excitation)")
            return _mismatch(layer, operands, shapes, tuple(range(len(largest))), "equal shapes or a 1x1xC gate", fix)
    return Result(largest)


# --- code -----------------------------------------------------------------------------------------

def emit_elementwise(r: LayerReport, ctx: Context) -> Unit:
    # multiply: a (N, C, 1, 1) gate broadcasts over every position of an (N, C, H, W) map.
    layer = r.layer
    assert isinstance(layer, (Add, Subtract, Multiply))  # EMITTERS dispatches on the layer's class
    return Unit([], [ctx.step(f" {layer.operator} ".join(ctx.inputs), r.output)])


def emit_concat(r: LayerReport, ctx: Context) -> Unit:
    return Unit([], [ctx.step(f"torch.cat([{', '.join(ctx.inputs)}], dim=1)", r.output)])


# --- training memory ------------------------------------------------------------------------------

def keeps_multiply(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Its operands: a * b * c is (a * b) * c, each product keeping either side for the other's gradient."""
    assert r.output is not None  # specc.infer.training_memory asks only layers with a known output
    shapes = [saved.shape.get(n) or r.output for n in r.layer.inputs]
    product, grad, shape = reads[0], saved.grad.get(reads[0], False), shapes[0]
    for step, (operand, operand_shape) in enumerate(zip(reads[1:], shapes[1:]), 1):
        operand_grad = saved.grad.get(operand, False)
        if grad:
            saved.keep(operand, size(operand_shape))
        if operand_grad:
            saved.keep(product, size(shape))
        product, grad = f"{r.layer.name}/product{step}", grad or operand_grad
        shape = tuple(map(max, shape, operand_shape)) if len(shape) == len(operand_shape) else r.output


KINDS = (
    Kind(Add, family=FAMILY, shape=elementwise, emit=emit_elementwise, keeps=keeps_nothing, forms=(
        Form("add", usage="add REF [REF ...], e.g. `add shortcut`"),)),
    Kind(Subtract, family=FAMILY, shape=elementwise, emit=emit_elementwise, keeps=keeps_nothing, forms=(
        Form("subtract", usage="subtract REF [REF ...]: the first minus the others (one REF: the line above "
                               "minus it), e.g. `subtract b`"),)),
    Kind(Concat, family=FAMILY, shape=concat, emit=emit_concat, keeps=keeps_nothing, forms=(
        Form("concat", usage="concat REF [REF ...], e.g. `concat b1 b3 b5`"),)),
    Kind(Multiply, family=FAMILY, shape=multiply, emit=emit_elementwise, keeps=keeps_multiply, forms=(
        Form("multiply", usage="multiply REF [REF ...], e.g. `multiply gate`"),)),
)
