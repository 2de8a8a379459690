"""The intermediate representation: frozen values for a lowered .cnn spec.

The IR holds what the user wrote, normalised once (a kernel ``5`` becomes
``(5, 5)``, ``dense`` becomes ``fc``); everything derived from shapes, such as
a layer's input channels, is computed later by :mod:`specc.infer`. No torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Pair = tuple[int, int]
# A volume is (H, W, C), a vector (N,); a dimension is None where an earlier
# error left it unknown.
Shape = tuple[int | None, ...]
Padding = Pair | Literal["same"]

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "softmax", "linear")


@dataclass(frozen=True, slots=True)
class Span:
    """A region of the source: 1-based lines and columns, end column exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def at(line: int, column: int = 1, width: int = 1) -> Span:
        return Span(line, column, line, column + width)


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """Fields every layer has. ``kind`` is the canonical statement keyword."""

    kind: str
    name: str
    labelled: bool
    span: Span
    # Where each written argument or option sits, keyed by its canonical name
    # ("kernel", "stride", "activation", ...), for diagnostics that point at it.
    spans: Mapping[str, Span] = field(default_factory=dict, compare=False, hash=False)

    @property
    def line(self) -> int:
        return self.span.line

    def span_of(self, name: str) -> Span:
        return self.spans.get(name, self.span)


@dataclass(frozen=True, slots=True, kw_only=True)
class Conv(Layer):
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    activation: str | None = None
    slope: float = 0.01


@dataclass(frozen=True, slots=True, kw_only=True)
class Pool(Layer):
    """``maxpool`` or ``avgpool``: ``op`` is "max" or "avg"."""

    op: str
    kernel: Pair
    stride: Pair
    padding: Padding = (0, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalPool(Layer):
    """``globalavgpool`` or ``globalmaxpool``: H and W to 1."""

    op: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Flatten(Layer):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Dense(Layer):
    """``fc N`` (alias ``dense N``); a volume before it is flattened."""

    units: int
    bias: bool = True
    activation: str | None = None
    slope: float = 0.01


@dataclass(frozen=True, slots=True, kw_only=True)
class Activation(Layer):
    """An activation on its own line; ``function`` is one of ACTIVATIONS."""

    function: str
    slope: float = 0.01


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchNorm(Layer):
    """Batch normalisation; ``momentum`` follows PyTorch (weight of the new batch)."""

    eps: float = 1e-5
    momentum: float = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class Dropout(Layer):
    rate: float


@dataclass(frozen=True, slots=True)
class Model:
    """A whole spec: its name, input shape, layers and training settings."""

    name: str
    input: Shape | None  # None when missing or invalid
    input_span: Span
    layers: tuple[Layer, ...]
    # Options of the `train` statement(s), checked for name and type only;
    # specc.train validates their ranges with its pydantic config.
    train: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False)
    train_spans: Mapping[str, Span] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Invalid(Layer):
    """A layer whose required arguments were wrong; its output shape is unknown.

    Kept so that later layers are still checked (their input is unknown, not
    missing) and so the report lists every written line.
    """

    filters: int | None = None
    units: int | None = None
