"""The intermediate representation: values for a lowered .cnn spec.

A spec lowers to a Model, a graph: every layer names the layers it reads
(``inputs``; ``"input"`` is the network's input), and source order is a
topological order (a line reads only lines above it). A plain stack is a chain.

Here are the Layer base with its traits, the Model, block instances and uses,
and the values computed from shapes later (Deferred); each kind's class lives
with the rest of the kind in :mod:`specc.kinds`. The IR holds what the user
wrote, normalised once (a kernel ``5`` becomes ``(5, 5)``, ``dense`` becomes
``fc``); everything derived from shapes, such as a layer's input channels, is
computed later by :mod:`specc.infer`. What the passes need to know about a
kind is declared on its class as traits (``receptive``, ``weighted``,
``linear``, ``keeps_sign``, ``merge``), so no pass keeps its own list of kinds.
No torch.

Every value here is immutable by contract: a pass that needs a changed layer
makes a new one (``layer._replace(...)``). The classes are records
(:mod:`specc.record`). Layers are the nodes of a graph
whose names are unique: they compare by identity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar, Literal, TypeVar, cast

from .diagnostics import Span
from .record import NamedTuple, Record

Pair = tuple[int, ...]  # one number per spatial axis: (5, 5) on a 2-D map, (5,) on a 1-D signal
# A volume is (H, W, C), a 1-D signal (L, C), a 3-D volume (D, H, W, C), a
# vector (N,); a dimension is None where an earlier error left it unknown.
Shape = tuple[int | None, ...]
Padding = Pair | Literal["same"]
Pads = tuple[int, ...]  # padding resolved, (before, after) per spatial axis: top, bottom, left, right on a 2-D map

_D = TypeVar("_D")  # a dimension: int, or int | None in a shape of a spec with errors

NOTHING: Mapping = MappingProxyType({})  # an empty mapping, read-only: one shared default


class Uniform(tuple):
    """A window value written as one number (`5`): the same on every axis, so it
    fits the rank of whatever input the layer gets (specc.infer widens it).
    Equal to the plain tuple, so 2-D code reads it as before."""

    __slots__ = ()

    @staticmethod
    def of(value: int, rank: int = 2) -> Uniform:
        return Uniform((value,) * rank)


def rank_of(shape: Shape | None) -> int | None:
    """Spatial axes of a shape: 2 for HxWxC, 1 for LxC, 3 for DxHxWxC, 0 for a vector."""
    return None if shape is None else len(shape) - 1


def channels_first(shape: tuple[_D, ...]) -> tuple[_D, ...]:
    """A spec's shape in torch's layout, batch left out: (H, W, C) -> (C, H, W), (L, C) -> (C, L),
    (D, H, W, C) -> (C, D, H, W); a vector (F,) stays as it is."""
    return (shape[-1], *shape[:-1]) if len(shape) >= 2 else tuple(shape)


INPUT = "input"  # the name by which layers refer to the network's input


class Layer(Record, kw_only=True):
    """Fields every layer has. ``kind`` is the canonical statement keyword.

    The kinds are the subclasses in specc.kinds. Traits, declared by every kind on
    its own class (tests/test_tables.py checks it):
      receptive   how the layer moves the receptive field: "pointwise" (not at
                  all), "window" (a kernel/stride/dilation window), "whole"
                  (each output sees the whole map: fc, global pooling), "adaptive"
                  (windows fitted to the input: `maxpool out=HxW`)
      weighted    a conv or fc layer: weights, and the "why convolutions" figures
      linear      composes with a linear map into a linear map at inference (W102)
      keeps_sign  non-negative inputs give non-negative outputs (W304)
      merge       reads several inputs, named by its arguments (add, concat,
                  multiply); every other kind reads one
    """

    kind: str
    name: str
    labelled: bool
    span: Span
    inputs: tuple[str, ...] = ()  # the layers it reads, by name; INPUT for the network's input
    block: str | None = None  # the block instance it belongs to ("layer1.0"), None at the top level
    # Where the block it belongs to was called from, innermost first (specc.diagnostics.Note values).
    notes: tuple = ()
    # Where each written argument or option sits, keyed by its canonical name
    # ("kernel", "stride", "activation", ...), for diagnostics that point at it.
    spans: Mapping[str, Span] = NOTHING

    receptive: ClassVar[str]
    weighted: ClassVar[bool] = False
    linear: ClassVar[bool] = False
    keeps_sign: ClassVar[bool] = False
    merge: ClassVar[bool] = False

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def shares(self) -> Sharing | None:
        """`share=REF`: the layer whose parameters and buffers it uses. Kept in ``spans`` under "share"
        (a layer that shares has a mapping of its own): a field would cost every layer a slot."""
        found = self.spans.get("share") if self.spans else None
        return found if isinstance(found, Sharing) else None

    def sharing(self, shares: Sharing | None) -> Layer:
        """This layer with ``shares`` (None: sharing nothing)."""
        spans = {k: v for k, v in self.spans.items() if k != "share"}
        if shares is not None:
            spans["share"] = cast(Span, shares)  # see ``shares``
        return self._replace(spans=spans or NOTHING)

    @property
    def activation_function(self) -> str | None:
        """The function this layer applies: an activation line's, or the word on a conv/fc line."""
        return None

    @property
    def kind_text(self) -> str:
        """The kind as the report's table and the drawings write it: "conv+relu", "relu", "maxpool"."""
        function = self.activation_function
        if self.kind == "activation":
            return function or self.kind
        return f"{self.kind}+{function}" if function else self.kind

    def channel_mean(self, shape: Shape | None) -> str | None:
        """The mean it subtracts from each channel of an input of ``shape`` ("batch mean", "mean
        over each example"), None if none: a bias just before it is wasted (W401)."""
        return None

    def span_of(self, name: str) -> Span:
        return self.spans.get(name, self.span)

    def __repr__(self) -> str:  # short: a record's repr would print every field
        return f"<{type(self).__name__} {self.name} (line {self.line})>"


class Sharing(NamedTuple):
    """A layer that uses another's parameters and buffers (`share=REF`, contract part 3, §3): the
    owner's name, and where the sharing was written, for the diagnostics of a mismatch. The layers
    of a block instance called with `share=` each share the same layer of REF's instance."""

    owner: str  # the layer that holds the parameters (REF's, or REF's own owner when REF shares too)
    ref: str  # REF as the spec names it: a layer, or the instance the call shares
    ref_line: int  # REF's line
    span: Span  # the `share=REF` option of the sharing line or call


class BlockUse(NamedTuple):
    """A block definition and how the spec uses it (for the unused-block and unused-parameter rules)."""

    name: str
    span: Span  # the header line
    name_span: Span
    called: bool
    params: tuple[tuple[str, Span, bool], ...]  # (name, where it is written, whether the body reads it)
    # (parameter, an option written with it as the option's own word, e.g. "over=c", that option's span): the word
    # keeps its meaning there (specc.lower.expansion), which W106 says where the parameter is read nowhere else
    shadowed: tuple[tuple[str, str, Span], ...] = ()


class Instance(NamedTuple):
    """One expansion of a block call: where its layers live and what it reads and gives."""

    path: str  # its layers are named PATH.LABEL
    block: str  # the block's name
    parent: str | None  # the instance it was called in; None at the top level
    group: str  # the call's name: PATH without the copy number of `repeat=`
    entry: str  # the layer it reads (`in`)
    output: str  # its last layer
    span: Span  # the call line
    shares: str | None = None  # the instance whose modules it uses (`share=REF` on the call)


class Input(NamedTuple):
    """One of the network's inputs: its name (its label, or `input`), shape and line."""

    name: str
    shape: tuple[int, ...] | None  # None when invalid; lowering checked each dimension is whole
    span: Span


class Model(Record):
    """A whole spec: its name, input shape, layers and training settings. ``input`` and
    ``input_span`` are the first input's; ``inputs`` holds every input, in order."""

    name: str
    input: tuple[int, ...] | None  # None when missing or invalid; lowering checked each dimension is whole
    input_span: Span
    layers: tuple[Layer, ...]  # in source order, a topological order of the graph
    # Options of the `train` statement(s), checked at lowering time against specc.hyperparameters'
    # table (the same table specc train's config is built from).
    train: Mapping[str, object] = NOTHING
    train_spans: Mapping[str, Span] = NOTHING
    blocks: tuple[BlockUse, ...] = ()
    instances: tuple[Instance, ...] = ()  # in source order
    deferred: frozenset[str] = frozenset()  # layers with values computed from shapes (specc.infer.computed)
    inputs: tuple[Input, ...] = ()  # every input, in the order written (empty when the spec has none)
    declared_outputs: tuple[str, ...] = ()  # the layers an `output` line names, in order; () without one
    owners: frozenset[str] = frozenset()  # the layers whose parameters others share (`share=`)

    @property
    def output(self) -> str:
        """The name of the layer whose output is the network's first: the last line's, without `output`."""
        if self.declared_outputs:
            return self.declared_outputs[0]
        return self.layers[-1].name if self.layers else self.input_names[0]

    @property
    def outputs(self) -> tuple[str, ...]:
        """The layers whose outputs the network returns, in order."""
        return self.declared_outputs or (self.output,)

    @property
    def input_names(self) -> tuple[str, ...]:
        """The names layers read the inputs by, in order; (`input`,) for a spec with one or none."""
        return tuple(i.name for i in self.inputs) or (INPUT,)


class Readers(dict[str, "str | list[str] | None"]):
    """The graph's edges indexed by the output read (:func:`readers`): for each name, the name of the one
    layer that reads it, a list of those that do when more do (in source order, a layer once per read:
    twice for `add from=a,a`), or None when none does."""

    unique: bool  # whether no two layers share a name (a spec without E108): then a name is one reader


def readers(layers: Sequence[Layer]) -> Readers:
    """Who reads each output, in one pass over ``layers``: infer lets an output go after its last
    reader, and lint's view walks the graph, from this one index (codegen keeps its own, by scope).

    Readers are held by name, objects the layers already hold, not by layer: infer makes new layers,
    which the index would otherwise keep alive beside the old. Most outputs have one reader: a list
    per name would cost three times this dict at 100k layers. The layers' names come first, so the
    dict is sized once (one growing past 87k entries holds its old and new tables: 2 MB more).
    """
    found = cast(Readers, Readers.fromkeys(layer.name for layer in layers))  # typeshed says a dict: it is a Readers
    found.unique = len(found) == len(layers)
    for layer in layers:
        for name in layer.inputs:
            reader = found.get(name)
            if reader is None:
                found[name] = layer.name
            elif isinstance(reader, list):
                reader.append(layer.name)
            else:
                found[name] = [reader, layer.name]
    return found


def last_reader(reader: str | list[str] | None) -> str | None:
    """The name of the last layer, in source order, of one entry of :func:`readers`."""
    return reader[-1] if isinstance(reader, list) else reader


class Deferred(Record, eq=True):
    """A value that needs shapes: `in.c*6`, `conv1.h`, `f1/4`; specc.infer resolves it
    with the option's checker before the layer's shape rule runs. Data only: the checker
    is looked up by keyword and option in the kinds' statement table (specc.kinds)."""

    word: object  # the syntax Word (kind "dim" or "expr") as written, parameters substituted
    keyword: str  # the statement's keyword (`conv`), canonical
    option: str  # the option the value was written for (`filters`), canonical; its checker checks the number
    what: str  # how messages name the option
