"""What the rules ask of the analysed graph: neighbours along edges, chains,
activations, and the arithmetic several rules share.

``GraphView`` is the view every rule receives (ruff's checker, not an index):
reports by name, ``predecessors``/``successors`` along the spec's edges, the
linear ``chain_after`` a layer, and whether a layer's output still feeds a
conv or fc layer. Rules never look at neighbours by position. Not a rule itself.

A rule reads only the layers its finding can be about: those of a kind
(``of_kind``), the conv/fc layers (``weighted``), the windowed layers and
those that leave input rows unread. The view keeps per layer only what needs
an index (two dicts by name: the report, and the graph's index of who reads
it, ir.readers, the one infer used); a list of the layers of each kind would
cost more memory (8 bytes a layer, held through the whole lint) than the pass
that picks them out costs time (about 10 ms at 100k).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, cast

from .. import ir
from ..analysis import LayerReport
from ..diagnostics import Span
from ..kinds import Add
from ..numbers import dims, human_bytes

if TYPE_CHECKING:
    from typing import Generic, TypeVar

    from ..kinds import Conv, ConvTranspose, Dense, Pool

    K = TypeVar("K", bound=ir.Layer)

    class CheckedModel(ir.Model):
        """The model lint reads: lower checks each input dimension whole (values.input_dims), where
        ir.Shape also allows the unknown dimensions of an inferred shape."""

        input: tuple[int, ...] | None

    # What the rules' loops hand out, for type checkers: reports whose layer is narrowed to what the loop picked.
    class KindReport(LayerReport, Generic[K]):
        """The report of a layer of kind K (of_kind's)."""

        layer: K

    class WindowReport(LayerReport):
        """The report of a window (its layer's ``receptive`` trait is "window"): a conv or a pooling."""

        layer: Conv | Pool

    class WeightedReport(LayerReport):
        """The report of a conv or fc layer (the ``weighted`` trait)."""

        layer: Conv | ConvTranspose | Dense

# (rows, columns) never read, (rows, columns) past the last window: see unread()
Unread = tuple[tuple[int, int], tuple[int, int]]
ALL_READ: Unread = ((0, 0), (0, 0))


class GraphView:
    """The analysed layers (in source order, a topological order) and their edges."""

    def __init__(self, model: ir.Model, reports: Sequence[LayerReport], readers: ir.Readers | None = None):
        self.model = cast("CheckedModel", model)  # its input is known wherever it is given (see CheckedModel)
        self.reports = tuple(reports)
        self.by_name: dict[str, LayerReport] = {r.layer.name: r for r in self.reports}
        # Who reads each layer, by name (ir.readers: the one layer, a list when more do, None when none does),
        # made here when not given. A lint runs on a spec without errors: its names are unique and infer
        # changed no layer's inputs. The few lists of reports are made on demand (_readers).
        self._reader = ir.readers(model.layers) if readers is None else readers

    def of_kind(self, kind: type[K]) -> Iterator[KindReport[K]]:
        """The layers of one kind (subclasses included) in source order: what a rule about that kind reads."""
        found = (r for r in self.reports if isinstance(r.layer, kind))
        return cast("Iterator[KindReport[K]]", found)  # isinstance narrows the layer, not the report holding it

    def weighted(self) -> Iterator[WeightedReport]:
        """The conv and fc layers, in source order."""
        found = (r for r in self.reports if r.layer.weighted)
        return cast("Iterator[WeightedReport]", found)  # the weighted trait is what makes a WeightedReport

    @property
    def output(self) -> LayerReport | None:
        """The layer whose output is the network's (its first, where an `output` line names several)."""
        return self.by_name.get(self.model.output)

    @property
    def outputs(self) -> list[LayerReport]:
        """The layers whose outputs the network returns, in order: the last line's, or those `output` names."""
        return [r for r in map(self.by_name.get, self.model.outputs) if r is not None]

    def predecessors(self, r: LayerReport) -> list[LayerReport]:
        """The layers ``r`` reads (the network's input is not a layer)."""
        return [self.by_name[name] for name in r.layer.inputs if name in self.by_name]

    def predecessor(self, r: LayerReport) -> LayerReport | None:
        """The one layer ``r`` reads, None for a merge or the first layer."""
        inputs = r.layer.inputs
        return self.by_name.get(inputs[0]) if len(inputs) == 1 else None

    def is_read(self, r: LayerReport) -> bool:
        """Whether some layer reads ``r``'s output."""
        return self._reader.get(r.layer.name) is not None

    def unread(self) -> Iterator[LayerReport]:
        """The layers whose output no layer reads, in source order."""
        reader = self._reader
        return (r for r in self.reports if reader.get(r.layer.name) is None)

    def read_by_several(self, r: LayerReport) -> bool:
        """Whether more than one layer reads ``r``'s output (or one reads it twice)."""
        return isinstance(self._reader.get(r.layer.name), list)

    def successors(self, r: LayerReport) -> Sequence[LayerReport]:
        """The layers that read ``r``, in source order (twice for a layer that reads it twice)."""
        reader = self._reader.get(r.layer.name)
        if isinstance(reader, list):
            return self._readers[r.layer.name]
        return () if reader is None else (self.by_name[reader],)

    @cached_property
    def _readers(self) -> dict[str, list[LayerReport]]:
        """The reports reading every layer read more than once, in source order: made when a rule first asks."""
        return {name: [self.by_name[reader] for reader in found]
                for name, found in self._reader.items() if isinstance(found, list)}

    def chain_after(self, r: LayerReport) -> Iterator[LayerReport]:
        """The layers after ``r`` while the path does not branch or merge: what ``r`` alone feeds."""
        after = self._only_reader(r)
        while after is not None and len(after.layer.inputs) == 1:
            yield after
            after = self._only_reader(after)

    def _only_reader(self, r: LayerReport) -> LayerReport | None:
        """The one layer that reads ``r``, None when none or several do."""
        reader = self._reader.get(r.layer.name)
        return None if reader is None or isinstance(reader, list) else self.by_name[reader]

    def downstream(self, r: LayerReport) -> Iterator[LayerReport]:
        """Every layer that ``r``'s output reaches, in source order."""
        reached, names = [], {r.layer.name}
        for other in self.reports[self.reports.index(r) + 1:]:
            if any(name in names for name in other.layer.inputs):
                names.add(other.layer.name)
                reached.append(other)
        return iter(reached)

    def feeds_add(self, r: LayerReport) -> bool:
        """Whether ``r``'s output alone goes (through a chain) into a residual `add`."""
        return any(isinstance(s.layer, Add) for x in (r, *self.chain_after(r)) for s in self.successors(x))

    def feeds_weights(self, r: LayerReport) -> bool:
        """Whether ``r``'s output reaches some conv or fc layer."""
        return r.layer.name not in self._feeding_no_weights

    @cached_property
    def _feeding_no_weights(self) -> set[str]:
        """The layers whose output reaches no conv or fc layer, by name: mostly the last few."""
        found: set[str] = set()
        feeding: set[str] = set()  # read by a layer below that reaches weights
        for r in reversed(self.reports):  # a layer's readers come later in source order: already decided
            name = r.layer.name
            if name in feeding:
                feeding.remove(name)  # none of its readers is left: the set stays as wide as the graph, not as long
            else:
                found.add(name)
                if not r.layer.weighted:
                    continue
            feeding.update(r.layer.inputs)
        return found

    def windows(self) -> Iterator[tuple[WindowReport, tuple[int, int, int]]]:
        """Conv and pooling layers with a known input volume, and that volume (the W2xx rules' loop)."""
        found = ((r, shape) for r in self.reports
                 if r.layer.receptive == "window" and (shape := volume(r.input)) is not None)
        # The receptive trait is what makes a report a WindowReport; a TypeGuard would cost a call per layer.
        return cast("Iterator[tuple[WindowReport, tuple[int, int, int]]]", found)

    @cached_property
    def unread_windows(self) -> list[tuple[WindowReport, tuple[int, int, int], Unread]]:
        """The :meth:`windows` that leave some input row or column unread, with :func:`unread`'s counts.

        Worked out once for W201 and W202, which split these layers between them.
        """
        found = []
        for r, shape in self.windows():
            counts = unread(r)
            if counts is not None and counts != ALL_READ:
                found.append((r, shape, counts))
        return found
# Axes longer than this are shortened before counting unread rows (see coverage).
# Kernels, strides or paddings that would still need more rows than MAX_ROWS are
# not analysed: no network has them, and a mistyped `1_000_000x1_000_000` kernel
# must not make `specc check` hang or allocate gigabytes.
EXACT_ROWS = 4096
MAX_ROWS = 1 << 20


def activation(layer: ir.Layer) -> str | None:
    """The activation function a layer applies, None for none or `linear`."""
    function = layer.activation_function
    return None if function in (None, "linear") else function


def bends(reports: Sequence[LayerReport]) -> bool:
    """True when some layer applies an activation other than softmax (W103's question)."""
    return any(activation(r.layer) not in (None, "softmax") for r in reports)


def activation_span(layer: ir.Layer) -> Span:
    """Where the activation word is written: on a conv/fc line, or the whole line."""
    return layer.span_of("activation") if layer.weighted else layer.span


def described(layer: ir.Layer) -> str:
    """How a message names an activation: 'relu on conv1', or 'relu1 (line 5)' for its own line."""
    if layer.weighted:
        return f"{activation(layer)} on {layer.name}"
    return f"{layer.name} (line {layer.line})"


def volume(shape: tuple | None) -> tuple[int, int, int] | None:
    """(H, W, C) when the shape is a fully known volume, else None."""
    if shape is None or len(shape) != 3 or None in shape:
        return None
    return shape  # type: ignore[return-value]



def step(pair: Sequence[int]) -> str:
    """A stride or dilation as usually written: 2, or 2x1 when the axes differ."""
    return str(pair[0]) if pair[0] == pair[1] else dims(pair)


def last(n: int, word: str) -> str:
    """'the last row', 'the last 3 rows'."""
    return f"the last {word}" if n == 1 else f"the last {n:,} {word}s"


def fp32_size(params: int) -> str:
    """What ``params`` weights take at fp32, in the largest fitting binary unit."""
    return human_bytes(4 * params)


@lru_cache(maxsize=4096)  # pure, and a network repeats its layers' geometry
def coverage(size: int, kernel: int, stride: int, dilation: int, before: int, out: int,
             limit: int = EXACT_ROWS) -> tuple[int, int] | None:
    """One axis of a conv or pooling: (input rows no window reads, rows past the last window).

    Window o reads padded rows ``o·s + i·d`` for taps i < f. Without dilation
    and with s <= f the windows touch or overlap, so they read every padded row
    up to the last window's end: only the border can be missed. Otherwise
    marking the rows in a bytearray is exact (start, gaps between windows,
    border) and costs f slice assignments done in C. Past ``limit`` rows, a middle stretch of m·s rows,
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
    final = (out - 1) * stride + window - 1  # the last padded row any window reads
    beyond = max(before + size - 1 - final, 0)
    if out > 0 and dilation == 1 and stride <= kernel:  # windows that touch or overlap read rows 0..final, no gap
        return min(beyond, size), beyond
    read = bytearray(rows)
    for i in range(kernel):
        start = i * dilation
        taps = len(range(start, min(start + (out - 1) * stride + 1, rows), stride))
        read[start:start + (taps - 1) * stride + 1:stride] = b"\x01" * taps
    return read[before:].count(0), beyond


def unread(r: WindowReport) -> Unread | None:
    """For a conv/pool report: ((rows, columns) never read, (rows, columns) past the last window)."""
    shape, pads, out = volume(r.input), r.pads, r.output
    if shape is None or pads is None or out is None or r.layer.receptive != "window":
        return None
    kernel, stride, dilation = r.layer.kernel, r.layer.stride, r.layer.dilation
    rows = coverage(shape[0], kernel[0], stride[0], dilation[0], pads[0], out[0])
    columns = coverage(shape[1], kernel[1], stride[1], dilation[1], pads[2], out[1])
    if rows is None or columns is None:
        return None
    return (rows[0], columns[0]), (rows[1], columns[1])
