"""The intermediate representation: values for a lowered .cnn spec.

A spec lowers to a graph: every layer names the layers it reads (``inputs``;
``"input"`` is the network's input), and source order is a topological order
(a line reads only lines above it). A plain stack is a chain.

The IR holds what the user wrote, normalised once (a kernel ``5`` becomes
``(5, 5)``, ``dense`` becomes ``fc``); everything derived from shapes, such as
a layer's input channels, is computed later by :mod:`specc.infer`. What the
passes need to know about a kind is declared on its class as traits
(``weighted``, ``window``, ``receptive``, ``linear``, ``keeps_sign``), so no
pass keeps its own list of kinds. No torch.

Every value here is immutable by contract: a pass that needs a changed layer
makes a new one (``layer._replace(...)``). The classes are records
(:mod:`specc.record`), not frozen dataclasses: a frozen dataclass sets each
field through ``object.__setattr__``, which cost a 100,000-layer check a
quarter of a second, and importing and generating dataclasses was a fifth of
`specc check`'s start-up (bench/RESULTS.md, issue 16). Layers are the nodes of
a graph whose names are unique: they compare by identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Literal, NamedTuple

from .diagnostics import Span
from .record import Record

Pair = tuple[int, ...]  # one number per spatial axis: (5, 5) on a 2-D map, (5,) on a 1-D signal
# A volume is (H, W, C), a 1-D signal (L, C), a 3-D volume (D, H, W, C), a
# vector (N,); a dimension is None where an earlier error left it unknown.
Shape = tuple[int | None, ...]
Padding = Pair | Literal["same"]
Pads = tuple[int, ...]  # padding resolved, (before, after) per spatial axis: top, bottom, left, right on a 2-D map

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "softmax", "linear", "relu6", "silu", "hardswish", "gelu")
ACTIVATION_ALIASES = {"swish": "silu"}
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
INPUT = "input"  # the name by which layers refer to the network's input


class Layer(Record, kw_only=True):
    """Fields every layer has. ``kind`` is the canonical statement keyword.

    Traits, declared by every kind on its own class (tests/test_tables.py checks it):
      receptive   how the layer moves the receptive field: "pointwise" (not at
                  all), "window" (a kernel/stride/dilation window), "whole"
                  (each output sees the whole map: fc, global pooling)
      weighted    a conv or fc layer: weights, and the "why convolutions" figures
      linear      composes with a linear map into a linear map at inference (W102)
      keeps_sign  non-negative inputs give non-negative outputs (W304)
    Merges (add, concat, multiply) read several inputs; every other kind reads one.
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

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def activation_function(self) -> str | None:
        """The function this layer applies: an activation line's, or the word on a conv/fc line."""
        return None

    def span_of(self, name: str) -> Span:
        return self.spans.get(name, self.span)

    def __repr__(self) -> str:  # short: a record's repr would print every field
        return f"<{type(self).__name__} {self.name} (line {self.line})>"


class Conv(Layer):
    """``conv N K``: N filters of K×K (one size per axis) over every input channel, or over ``groups``."""

    receptive: ClassVar[str] = "window"
    weighted: ClassVar[bool] = True

    filters: int
    kernel: Pair
    stride: Pair = Uniform((1, 1))
    padding: Padding = Uniform((0, 0))
    dilation: Pair = Uniform((1, 1))
    groups: int = 1
    bias: bool = True
    activation: str | None = None
    slope: float = 0.01

    @property
    def activation_function(self) -> str | None:
        return self.activation


class DepthwiseConv(Conv):
    """``dwconv K``: one filter (``multiplier`` filters) per input channel.

    ``filters`` and ``groups`` follow from the input's channels C (C·m and C);
    specc.infer fills them in before the shape rule, so everything after reads
    it as the grouped convolution it is."""

    receptive: ClassVar[str] = "window"
    weighted: ClassVar[bool] = True

    filters: int | None = None  # type: ignore[assignment]
    multiplier: int = 1
    groups: int | None = None  # type: ignore[assignment]


class ConvTranspose(Layer):
    """``convtranspose N K`` (alias ``deconv``): the gradient of a strided conv,
    each input position spreading a kernel onto an s-times larger map.
    ``padding="same"`` means out = in·s, as Keras' Conv2DTranspose(padding='same')."""

    receptive: ClassVar[str] = "transposed"
    weighted: ClassVar[bool] = True
    linear: ClassVar[bool] = True

    filters: int
    kernel: Pair
    stride: Pair = Uniform((1, 1))
    padding: Padding = Uniform((0, 0))
    output_padding: Pair = Uniform((0, 0))
    dilation: Pair = Uniform((1, 1))
    groups: int = 1
    bias: bool = True
    activation: str | None = None
    slope: float = 0.01

    @property
    def activation_function(self) -> str | None:
        return self.activation


class Upsample(Layer):
    """``upsample S``: each axis S times longer, ``mode`` nearest or bilinear (linear in 1-D, trilinear in 3-D)."""

    receptive: ClassVar[str] = "upsample"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    factor: Pair
    mode: str = "nearest"


class ZeroPad(Layer):
    """``zeropad P``: zeros around the map, ``padding`` per axis on both sides,
    ``top``/``bottom``/``left``/``right`` overriding one side of a 2-D map."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    padding: Pair
    top: int | None = None
    bottom: int | None = None
    left: int | None = None
    right: int | None = None


class Norm(Layer):
    """``layernorm``, ``instancenorm`` or ``groupnorm G`` (``op`` "layer", "instance", "group").

    Statistics are taken per example, so training and inference agree and no
    running statistics are kept. The receptive field is counted as pointwise,
    as for batchnorm: the statistics mix the whole map, the affine map does not."""

    receptive: ClassVar[str] = "pointwise"

    op: str
    groups: int = 1
    eps: float = 1e-5
    affine: bool = True


class Pool(Layer):
    """``maxpool`` or ``avgpool``: ``op`` is "max" or "avg"."""

    receptive: ClassVar[str] = "window"
    keeps_sign: ClassVar[bool] = True

    op: str
    kernel: Pair
    stride: Pair
    padding: Padding = Uniform((0, 0))
    dilation: Pair = Uniform((1, 1))  # not written by specs; lets every windowed layer be read alike

    @property
    def linear(self) -> bool:  # average pooling is linear, max pooling is not
        return self.op == "avg"


class GlobalPool(Layer):
    """``globalavgpool`` or ``globalmaxpool``: H and W to 1."""

    receptive: ClassVar[str] = "whole"
    keeps_sign: ClassVar[bool] = True

    op: str

    @property
    def linear(self) -> bool:
        return self.op == "avg"


class Flatten(Layer):
    """``flatten``: a volume to a vector, in PyTorch's channel-first order."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True


class Dense(Layer):
    """``fc N`` (alias ``dense N``); a volume before it is flattened."""

    receptive: ClassVar[str] = "whole"
    weighted: ClassVar[bool] = True

    units: int
    bias: bool = True
    activation: str | None = None
    slope: float = 0.01

    @property
    def activation_function(self) -> str | None:
        return self.activation


class Activation(Layer):
    """An activation on its own line; ``function`` is one of ACTIVATIONS."""

    receptive: ClassVar[str] = "pointwise"

    function: str
    slope: float = 0.01

    @property
    def activation_function(self) -> str | None:
        return self.function

    @property
    def linear(self) -> bool:  # `linear` on its own line is the identity
        return self.function == "linear"


class BatchNorm(Layer):
    """Batch normalisation; ``momentum`` follows PyTorch (weight of the new batch)."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True  # an affine map once its statistics are frozen

    eps: float = 1e-5
    momentum: float = 0.1


class Dropout(Layer):
    """``dropout P``: zeroes each value with probability ``rate`` while training; the identity at inference."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    rate: float


class BlockUse(NamedTuple):
    """A block definition and how the spec uses it (for the unused-block and unused-parameter rules)."""

    name: str
    span: Span  # the header line
    name_span: Span
    called: bool
    params: tuple[tuple[str, Span, bool], ...]  # (name, where it is written, whether the body reads it)


class Instance(NamedTuple):
    """One expansion of a block call: where its layers live and what it reads and gives."""

    path: str  # its layers are named PATH.LABEL
    block: str  # the block's name
    parent: str | None  # the instance it was called in; None at the top level
    group: str  # the call's name: PATH without the copy number of `repeat=`
    entry: str  # the layer it reads (`in`)
    output: str  # its last layer
    span: Span  # the call line


class Model(Record):
    """A whole spec: its name, input shape, layers and training settings."""

    name: str
    input: Shape | None  # None when missing or invalid
    input_span: Span
    layers: tuple[Layer, ...]  # in source order, a topological order of the graph
    # Options of the `train` statement(s), checked by specc.train.options'
    # table at lowering time (the same table specc train's config is built from).
    train: Mapping[str, object] = NOTHING
    train_spans: Mapping[str, Span] = NOTHING
    blocks: tuple[BlockUse, ...] = ()
    instances: tuple[Instance, ...] = ()  # in source order
    deferred: frozenset[str] = frozenset()  # layers with values computed from shapes (specc.dims)

    @property
    def output(self) -> str:
        """The name of the layer whose output is the network's: the last line's."""
        return self.layers[-1].name if self.layers else INPUT


class Invalid(Layer):
    """A layer whose required arguments were wrong; its output shape is unknown.

    Kept so that later layers are still checked (their input is unknown, not
    missing) and so the report lists every written line.
    """

    receptive: ClassVar[str] = "none"  # unknown: later receptive fields are not reported

    filters: int | None = None
    units: int | None = None


class Merge(Layer):
    """``add``, ``concat`` or ``multiply`` over its ``inputs`` (two or more)."""

    receptive: ClassVar[str] = "pointwise"  # the widest of its inputs'
    keeps_sign: ClassVar[bool] = True  # sums, products and concatenations of non-negative values


class Add(Merge):
    """Element-wise sum of inputs of one shape (a residual connection)."""

    linear: ClassVar[bool] = True


class Concat(Merge):
    """Inputs side by side along the channels (equal H and W); vectors end to end."""

    linear: ClassVar[bool] = True


class Multiply(Merge):
    """Element-wise product; a 1x1xC input scales every position of an HxWxC one (squeeze-excitation)."""


class Deferred(Record, eq=True):
    """A value that needs shapes: `in.c*6`, `conv1.h`, `f1/4`; specc.infer resolves it
    with the option's checker before the layer's shape rule runs."""

    word: object  # the syntax Word (kind "dim" or "expr") as written, parameters substituted
    check: object  # the option's checker (specc.values), applied to the whole number it gives
    what: str  # how messages name the option
