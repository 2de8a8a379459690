"""Normalisation: `batchnorm` (alias `bn`), the per-example norms `layernorm` (`over=c`: each
position's channels, ConvNeXt's), `instancenorm` and `groupnorm G`, and `layerscale V` (a learnt
factor per channel, ConvNeXt's). Their IR, forms, shape rules, emitters and what their
backward keeps. No torch.
"""

from __future__ import annotations

import math
from typing import ClassVar

from ..analysis import LayerReport
from ..diagnostics import error
from ..ir import Layer, Shape
from ..numbers import dims
from .base import Form, Kind
from .emitting import Context, Unit, arguments, number, rank, single
from .geometry import Result, is_known, not_a_volume
from .saved import FP32, Saved, channels_of, size
from .values import any_float, boolean, choice, count, positive, unit

FAMILY = "norm"


class BatchNorm(Layer):
    """Batch normalisation; ``momentum`` follows PyTorch (weight of the new batch)."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True  # an affine map once its statistics are frozen

    eps: float = 1e-5
    momentum: float = 0.1

    def channel_mean(self, shape: Shape | None) -> str | None:
        return "batch mean"


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
    over: str = "chw"  # layernorm: "chw" (every value of the example) or "c" (each position's channels)

    def channel_mean(self, shape: Shape | None) -> str | None:
        """instancenorm, and groupnorm with one channel per group (G = C), subtract each channel's
        own mean; layernorm and wider groups a mean over channels."""
        if shape is None or len(shape) < 2:
            return None
        if self.op == "instance" or (self.op == "group" and self.groups == shape[-1]):
            return "mean over each example"
        return None


class LayerScale(Layer):
    """``layerscale V``: each channel times a learnt factor, initialised to ``init`` (ConvNeXt's layer scale)."""

    receptive: ClassVar[str] = "pointwise"
    linear: ClassVar[bool] = True

    init: float


_NORM_OPTIONS = {"eps": positive, "affine": boolean}


def batchnorm(layer: BatchNorm, shape: Shape | None) -> Result:
    c = None if shape is None else shape[-1]
    if c is None:
        return Result(shape, None)
    return Result(shape, 2 * c, 2 * c, 0, in_channels=c)


def norm(layer: Norm, shape: Shape | None) -> Result:
    """Per-example norms; an affine norm learns a scale and a shift per channel (per unit on a vector)."""
    c = None if shape is None else shape[-1]
    if shape is None or c is None:
        return Result(shape, None)
    if layer.op == "instance" and len(shape) < 2:
        return not_a_volume(layer, shape)
    if layer.op == "group" and c % layer.groups:
        message = f"groupnorm {layer.groups} does not divide the {c} channels"
        return Result(shape, None, 0, 0, diagnostics=(error("E202", message, layer.span_of("groups"),
                                                             "the number of groups must divide the channels"),))
    if is_known(shape) and _values_per_group(layer, shape) == 1:
        what = {"instance": "channel", "group": "group", "layer": "position" if layer.over == "c" else "example"}[
            layer.op]
        message = (f"`{layer.kind}` on {dims(shape)} normalises each {what} over a single value: its output "
                   "is always its shift, and PyTorch refuses it")
        return Result(shape, None, 0, 0, diagnostics=(error("E208", message, layer.span,
                                                             "normalise a larger map, or drop the line"),))
    return Result(shape, 2 * c if layer.affine else 0, 0, 0, in_channels=c)


def _values_per_group(layer: Norm, shape: tuple[int, ...]) -> int:
    """How many values one mean and variance are taken over, per example."""
    if layer.op == "layer" and layer.over == "c":
        return shape[-1]
    groups = {"instance": shape[-1], "group": layer.groups, "layer": 1}[layer.op]
    return math.prod(shape) // groups


def emit_batchnorm(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, BatchNorm)  # EMITTERS dispatches on the layer's class
    cls = f"nn.BatchNorm{max(rank(r), 1)}d"
    args = arguments(("", str(r.in_channels)), ("eps", None if layer.eps == 1e-5 else number(layer.eps)),
                     ("momentum", None if layer.momentum == 0.1 else number(layer.momentum)))
    return single(r, ctx, f"{cls}({args})")


def emit_norm(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, Norm)  # EMITTERS dispatches on the layer's class
    c, volume = r.in_channels, rank(r) >= 1
    eps = ("eps", None if layer.eps == 1e-5 else number(layer.eps))
    channels = ("", str(c))
    if layer.op == "layer" and (not volume or layer.over == "c"):
        args = arguments(channels, eps, ("elementwise_affine", None if layer.affine else "False"))
        # over=c on a volume: ConvNeXt's LayerNorm2d, a class of the generated file (HELPERS)
        return single(r, ctx, f"{'nn.LayerNorm' if not volume else 'LayerNorm2d'}({args})")
    if layer.op == "instance":  # nn.InstanceNorm learns no scale and shift unless asked
        args = arguments(channels, eps, ("affine", "True" if layer.affine else None))
        return single(r, ctx, f"nn.InstanceNorm{rank(r)}d({args})")
    # groupnorm; layernorm on a volume normalises over C, H and W together: GroupNorm(1, C)
    groups = ("", str(layer.groups if layer.op == "group" else 1))
    args = arguments(groups, channels, eps, ("affine", None if layer.affine else "False"))
    return single(r, ctx, f"nn.GroupNorm({args})")


def keeps_batchnorm(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Its input, and the batch's mean and inverse deviation per channel (whatever the batch)."""
    saved.keep(reads[0], size(r.input))
    saved.per_batch += 2 * FP32 * channels_of(r.input)


def keeps_norm(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """The input, and per sample a mean and inverse deviation per group (instancenorm: per channel,
    plus its scale repeated per sample when it learns one)."""
    layer, channels = r.layer, channels_of(r.input)
    assert isinstance(layer, Norm)  # KINDS dispatches on the layer's class
    saved.keep(reads[0], size(r.input))
    positions = size(r.input) // channels if channels and layer.over == "c" else 1
    statistics = {"group": 2 * layer.groups, "layer": 2 * positions,
                  "instance": (3 if layer.affine else 2) * channels}
    saved.keep(f"{layer.name}/statistics", statistics[layer.op])


def layerscale(layer: LayerScale, shape: Shape | None) -> Result:
    c = None if shape is None else shape[-1]
    if c is None:
        return Result(shape, None)
    return Result(shape, c, 0, 0, in_channels=c)


def emit_layerscale(r: LayerReport, ctx: Context) -> Unit:
    layer = r.layer
    assert isinstance(layer, LayerScale)  # EMITTERS dispatches on the layer's class
    shape = ", ".join([str(r.in_channels), *("1" * rank(r))]) + ("," if not rank(r) else "")
    return single(r, ctx, f"LayerScale(({shape}), {number(layer.init)})")


# The generated file's classes for `layernorm over=c` and `layerscale` (specc.codegen writes those it uses).
HELPERS = {"LayerNorm2d": '''class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's LayerNorm2d: each position's channels normalised (nn.LayerNorm
    normalises the last axis: the channels are moved last, and back). The result is
    made contiguous: a channels-last view would carry its strides into every layer
    after it, and an exported adaptive pooling would read them element by element."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1).contiguous()''',
           "LayerScale": '''class LayerScale(nn.Module):
    """ConvNeXt's layer scale: each channel times a learnt factor, initialised to init."""

    def __init__(self, shape: tuple[int, ...], init: float) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full(shape, init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale'''}


def keeps_layerscale(r: LayerReport, saved: Saved, reads: list[str], final: str | None) -> None:
    """Its input, for the factors' gradient (the factors themselves are parameters)."""
    saved.keep(reads[0], size(r.input))


KINDS = (
    Kind(BatchNorm, family=FAMILY, shape=batchnorm, emit=emit_batchnorm, keeps=keeps_batchnorm, forms=(
        Form("batchnorm", options={"eps": positive, "momentum": unit}, usage="batchnorm [eps=E] [momentum=M]",
             prefix="bn", synonyms=("bn",)),)),
    Kind(Norm, family=FAMILY, shape=norm, emit=emit_norm, keeps=keeps_norm, forms=(
        Form("layernorm", options={**_NORM_OPTIONS, "over": choice("chw", "c")},
             usage="layernorm [eps=E] [affine=false] [over=chw|c]", prefix="ln", fixed={"op": "layer"}),
        Form("instancenorm", options=_NORM_OPTIONS, usage="instancenorm [eps=E] [affine=false]", prefix="inorm",
             fixed={"op": "instance"}),
        Form("groupnorm", ("groups",), ("groups",), {"groups": count, **_NORM_OPTIONS}, {},
             "groupnorm GROUPS [eps=E] [affine=false], e.g. `groupnorm 8`", prefix="gn", fixed={"op": "group"}))),
    Kind(LayerScale, family=FAMILY, shape=layerscale, emit=emit_layerscale, keeps=keeps_layerscale, forms=(
        Form("layerscale", ("init",), ("init",), {"init": any_float}, {},
             "layerscale INIT, e.g. `layerscale 1e-6`", prefix="ls"),)),
)
