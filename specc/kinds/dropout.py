"""Dropout: `dropout P`, and stochastic depth `droppath [R]`. Their IR, forms, shape rules, emitters and
what their backward keeps. No torch.

A bare `droppath` takes its rate from `train droppath=R`, growing linearly over the network's bare
droppath lines in source order as torchvision's ConvNeXt and timm do: the i-th of n (from 0) drops with
R·i/(n−1), the first never, the last with R; a single one gets 0, as ``torch.linspace(0, R, 1)``.
Lowering resolves the rates once every line is built (``scheduled``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from ..analysis import LayerReport
from ..ir import Layer
from .base import Form, Kind
from .emitting import Context, Unit, number, single
from .geometry import identity
from .saved import Saved, size
from .values import rate

FAMILY = "dropout"


class Dropout(Layer):
    """``dropout P``: zeroes each value with probability ``rate`` while training; the identity at inference."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    rate: float


class DropPath(Layer):
    """``droppath [R]``: stochastic depth on a residual branch (torchvision's ``stochastic_depth``, mode "row"):
    while training, each sample's whole branch is zeroed with probability ``rate`` and kept ones are scaled by
    1/(1−rate); the identity at inference. ``rate`` is None until lowering resolves a bare `droppath`
    (``scheduled``: taken from `train droppath=`)."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True
    keeps_sign: ClassVar[bool] = True

    rate: float | None = None
    scheduled: bool = False

    @property
    def kind_text(self) -> str:
        """With its rate, resolved for a bare `droppath` from `train droppath=`: "droppath 0.1"."""
        return f"droppath {self.rate or 0.0:.3g}"


def scheduled(layers: list[Layer], train: Mapping[str, object]) -> list[Layer]:
    """The layers with each bare `droppath`'s rate resolved from `train droppath=R` (0 when not given)."""
    bare = [i for i, layer in enumerate(layers) if isinstance(layer, DropPath) and layer.rate is None]
    if not bare:
        return layers
    most = float(train.get("droppath", 0.0))  # type: ignore[arg-type]  # checked by its train checker
    resolved = list(layers)
    for n, i in enumerate(bare):
        rate = most * n / (len(bare) - 1) if len(bare) > 1 else 0.0
        rate = float(f"{rate:.12g}")  # 0.1, not 0.09999999999999999 (0.3 · 1/3), in reports and code
        resolved[i] = layers[i]._replace(rate=rate, scheduled=True)
    return resolved


def rescheduled(layers: list[Layer], rate: float) -> list[Layer]:
    """The layers with every bare `droppath`'s rate resolved again from ``rate`` (`specc train --droppath R`,
    which overrides `train droppath=`); rates written on a line keep theirs."""
    bare = [layer._replace(rate=None, scheduled=False) if isinstance(layer, DropPath) and layer.scheduled else layer
            for layer in layers]
    return scheduled(bare, {"droppath": rate})


def emit(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Dropout)  # EMITTERS dispatches on the layer's class
    return single(r, ctx, f"nn.Dropout({number(layer.rate)})")


def emit_droppath(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, DropPath) and layer.rate is not None  # EMITTERS dispatches; lowering resolved it
    return single(r, ctx, f"DropPath({number(layer.rate)})")


# The generated file's class for `droppath` (specc.codegen writes it where a spec uses it): no torchvision.
HELPERS = {"DropPath": '''class DropPath(nn.Module):
    """Stochastic depth (torchvision.ops.stochastic_depth, mode "row", written out): in
    training each sample's branch is zeroed with probability rate and the kept ones
    are scaled by 1 / (1 - rate); the identity at inference."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask.div_(keep)'''}


def keeps(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Its mask (fp32, as on the CPU; CUDA's fused kernel keeps one byte), scaled; not its input."""
    saved.keep(f"{r.layer.name}/mask", size(r.output))


def same_tensor(r: LayerReport, final: str | None) -> bool:
    """`dropout 0` hands its input on."""
    return getattr(r.layer, "rate", None) == 0


def keeps_droppath(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Its mask, one value per sample (the product's backward reads it); nothing at rate 0."""
    layer = r.layer
    assert isinstance(layer, DropPath)  # KINDS dispatches on the layer's class
    if layer.rate:
        saved.keep(f"{layer.name}/mask", 1)


def droppath_same_tensor(r: LayerReport, final: str | None) -> bool:
    """`droppath 0` hands its input on."""
    return not getattr(r.layer, "rate", 1)


KINDS = (
    Kind(Dropout, family=FAMILY, shape=identity, emit=emit, keeps=keeps, same_tensor=same_tensor, forms=(
        Form("dropout", ("rate",), ("rate",), {"rate": rate}, {}, "dropout RATE, e.g. `dropout 0.5`"),)),
    Kind(DropPath, family=FAMILY, shape=identity, emit=emit_droppath, keeps=keeps_droppath,
         same_tensor=droppath_same_tensor, forms=(
             Form("droppath", ("rate",), (), {"rate": rate}, {},
                  "droppath [RATE], e.g. `droppath 0.1`; bare, its rate grows to `train droppath=R` over the "
                  "network's bare droppath lines", prefix="dp"),)),
)
