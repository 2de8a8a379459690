"""What the rules ask of the layer sequence: activations, linearity, what follows.

Shared by the rule modules of this package; pure functions over the IR and
the LayerReports. Not a rule itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .. import ir
from ..infer import LayerReport
from ..ir import Span

WEIGHTED = (ir.Conv, ir.Dense)
# Axes longer than this are shortened before counting unread rows (see coverage).
# Kernels, strides or paddings that would still need more rows than MAX_ROWS are
# not analysed: no network has them, and a mistyped `1_000_000x1_000_000` kernel
# must not make `specc check` hang or allocate gigabytes.
EXACT_ROWS = 4096
MAX_ROWS = 1 << 20


def activation(layer: ir.Layer) -> str | None:
    """The activation function a layer applies, None for none or `linear`."""
    function = getattr(layer, "function", None) or getattr(layer, "activation", None)
    return None if function in (None, "linear") else function


def bends(reports: Sequence[LayerReport]) -> bool:
    """True when some layer applies an activation other than softmax (W103's question)."""
    return any(activation(r.layer) not in (None, "softmax") for r in reports)


def activation_span(layer: ir.Layer) -> Span:
    """Where the activation word is written: on a conv/fc line, or the whole line."""
    return layer.span_of("activation") if isinstance(layer, WEIGHTED) else layer.span


def described(layer: ir.Layer) -> str:
    """How a message names an activation: 'relu on conv1', or 'relu1 (line 5)' for its own line."""
    if isinstance(layer, WEIGHTED):
        return f"{activation(layer)} on {layer.name}"
    return f"{layer.name} (line {layer.line})"


def is_affine(layer: ir.Layer) -> bool:
    """True for layers that compose with a linear map into a linear map (at inference).

    Average pooling, flatten and dropout are linear; batchnorm is an affine
    map once its statistics are frozen. Max pooling is not.
    """
    if isinstance(layer, (ir.Pool, ir.GlobalPool)):
        return layer.op == "avg"
    if isinstance(layer, (ir.Flatten, ir.Dropout, ir.BatchNorm)):
        return True
    return isinstance(layer, ir.Activation) and activation(layer) is None


def weighted_after(reports: Sequence[LayerReport], index: int) -> LayerReport | None:
    """The first conv or fc layer after position ``index``, or None."""
    return next((r for r in reports[index + 1:] if isinstance(r.layer, WEIGHTED)), None)


def volume(shape: tuple | None) -> tuple[int, int, int] | None:
    """(H, W, C) when the shape is a fully known volume, else None."""
    if shape is None or len(shape) != 3 or None in shape:
        return None
    return shape  # type: ignore[return-value]


def spatial(reports: Sequence[LayerReport]) -> Iterator[tuple[LayerReport, tuple[int, int, int]]]:
    """Conv and pooling layers with a known input volume, and that volume."""
    for r in reports:
        shape = volume(r.input)
        if shape is not None and isinstance(r.layer, (ir.Conv, ir.Pool)):
            yield r, shape


def dilation(layer: ir.Conv | ir.Pool) -> ir.Pair:
    return layer.dilation if isinstance(layer, ir.Conv) else (1, 1)


def dims(pair: Sequence[int]) -> str:
    """A pair as the spec writes it: 5x5, 3x5."""
    return "x".join(str(x) for x in pair)


def step(pair: Sequence[int]) -> str:
    """A stride or dilation as usually written: 2, or 2x1 when the axes differ."""
    return str(pair[0]) if pair[0] == pair[1] else dims(pair)


def last(n: int, word: str) -> str:
    """'the last row', 'the last 3 rows'."""
    return f"the last {word}" if n == 1 else f"the last {n:,} {word}s"


def fp32_size(params: int) -> str:
    """What ``params`` weights take at fp32, in the largest fitting binary unit."""
    value = 4.0 * params
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def coverage(size: int, kernel: int, stride: int, dilation: int, before: int, out: int,
             limit: int = EXACT_ROWS) -> tuple[int, int] | None:
    """One axis of a conv or pooling: (input rows no window reads, rows past the last window).

    Window o reads padded rows ``o·s + i·d`` for taps i < f. Marking them in a
    bytearray is exact (start, gaps between windows, border) and costs f slice
    assignments done in C. Past ``limit`` rows, a middle stretch of m·s rows,
    where every row sees all the windows it could, is cut out: there the
    pattern repeats every s rows, so it adds m times the unread rows of one
    period and changes nothing at the borders. None when even that would
    take more than MAX_ROWS rows.
    """
    window = (kernel - 1) * dilation + 1
    keep = before + 4 * (window + stride)
    if size > max(limit, keep + stride):
        m = (size - keep) // stride
        small = coverage(size - m * stride, kernel, stride, dilation, before, out - m, limit)
        per_period = stride - len({i * dilation % stride for i in range(min(kernel, stride))})
        return None if small is None else (small[0] + m * per_period, small[1])
    rows = before + size  # what windows read past the input (padding) does not matter: a huge stride costs nothing
    if rows > MAX_ROWS:
        return None
    read = bytearray(rows)
    for i in range(kernel):
        start = i * dilation
        taps = len(range(start, min(start + (out - 1) * stride + 1, rows), stride))
        read[start:start + (taps - 1) * stride + 1:stride] = b"\x01" * taps
    final = (out - 1) * stride + window - 1  # the last padded row any window reads
    return read[before:].count(0), max(before + size - 1 - final, 0)


def unread(r: LayerReport) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """For a conv/pool report: ((rows, columns) never read, (rows, columns) past the last window)."""
    shape, pads, out = volume(r.input), r.pads, r.output
    if shape is None or pads is None or out is None or not isinstance(r.layer, (ir.Conv, ir.Pool)):
        return None
    layer = r.layer
    axes = [coverage(shape[a], layer.kernel[a], layer.stride[a], dilation(layer)[a], pads[2 * a], out[a])
            for a in (0, 1)]
    if axes[0] is None or axes[1] is None:
        return None
    return (axes[0][0], axes[1][0]), (axes[0][1], axes[1][1])
