"""A torch twin of a generated graph spec, built from the generator's description.

``twin(input_shape, layers)`` turns graph_lines.py's concrete layers (plain
dicts with ``inputs``; never specc's IR) into one torch module per layer,
wired by those inputs, and reads what torch says about each: output shape
(channels last), parameters, buffers and MACs (twins.py's conventions).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import nn
from twins import Figures, channels_first, channels_last, count_buffers, count_macs, count_params, single_threaded

ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "silu": nn.SiLU,
               "swish": nn.SiLU, "hardswish": nn.Hardswish, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU,
               "softmax": lambda: nn.Softmax(dim=1), "hardsigmoid": nn.Hardsigmoid, "abs": lambda: Abs()}


class Abs(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs()


def activation(name: str | None) -> list[nn.Module]:
    return [] if name in (None, "linear") else [ACTIVATIONS[name]()]


def same_sides(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """padding=same: total max((ceil(n/s)-1)·s + d(k-1) + 1 - n, 0), the odd pixel bottom/right."""
    total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def same_pad(layer: dict, h: int, w: int, fill: float = 0.0) -> tuple[list[nn.Module], tuple[int, int]]:
    if layer["padding"] != "same":
        return [], layer["padding"]
    d = layer.get("dilation", (1, 1))
    top, bottom = same_sides(h, layer["kernel"][0], layer["stride"][0], d[0])
    left, right = same_sides(w, layer["kernel"][1], layer["stride"][1], d[1])
    return [nn.ConstantPad2d((left, right, top, bottom), fill)], (0, 0)


# Every merge as torch computes it, folded left over the inputs (tests/test_tables.py checks the list).
MERGES = {"add": torch.add, "subtract": torch.sub, "concat": lambda a, b: torch.cat((a, b), dim=1),
          "multiply": torch.mul}  # multiply: 1x1xC broadcasts over HxWxC


class Merge(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return functools.reduce(MERGES[self.kind], xs)


def _transposed(layer: dict, c: int) -> list[nn.Module]:
    if layer["padding"] != "same":
        return [nn.ConvTranspose2d(c, layer["filters"], layer["kernel"], layer["stride"], layer["padding"],
                                   layer["output_padding"], bias=layer["bias"])]
    # out = in·s: the full (in-1)·s + k output, cropped (or padded) by k - s on each axis
    (kh, kw), (sh, sw) = layer["kernel"], layer["stride"]
    crop_h, crop_w = kh - sh, kw - sw
    return [nn.ConvTranspose2d(c, layer["filters"], (kh, kw), (sh, sw), bias=layer["bias"]),
            nn.ConstantPad2d((-(crop_w // 2), -(crop_w - crop_w // 2), -(crop_h // 2), -(crop_h - crop_h // 2)), 0)]


def node_module(layer: dict, shape: tuple[int, ...]) -> nn.Module:
    kind = layer["kind"]
    if kind in MERGES:
        return Merge(kind)
    c = shape[-1]
    if kind == "conv":
        pad, padding = same_pad(layer, *shape[:2])
        core = nn.Conv2d(c, layer["filters"], layer["kernel"], layer["stride"], padding, layer["dilation"],
                         layer["groups"], layer["bias"])
        return nn.Sequential(*pad, core, *activation(layer["activation"]))
    if kind == "convtranspose":
        return nn.Sequential(*_transposed(layer, c), *activation(layer["activation"]))
    if kind in ("maxpool", "avgpool") and "out" in layer:
        return (nn.AdaptiveMaxPool2d if kind == "maxpool" else nn.AdaptiveAvgPool2d)(layer["out"])
    if kind in ("maxpool", "avgpool"):
        pad, padding = same_pad(layer, *shape[:2], -math.inf if kind == "maxpool" else 0.0)
        pool = nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d
        return nn.Sequential(*pad, pool(layer["kernel"], layer["stride"], padding, ceil_mode=layer["round_up"]))
    simple = {
        "flatten": lambda: nn.Flatten(1),
        "globalavgpool": lambda: nn.AdaptiveAvgPool2d(1),
        "globalmaxpool": lambda: nn.AdaptiveMaxPool2d(1),
        "fc": lambda: nn.Sequential(nn.Flatten(1), nn.Linear(math.prod(shape), layer["units"], layer["bias"]),
                                    *activation(layer["activation"])),
        "activation": lambda: activation(layer["function"])[0],
        "batchnorm": lambda: (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(c),
        "layernorm": lambda: nn.GroupNorm(1, c),  # layernorm on a volume = GroupNorm(1, C): 2C params
        "instancenorm": lambda: nn.InstanceNorm2d(c, affine=True),
        "groupnorm": lambda: nn.GroupNorm(layer["groups"], c),
        "dropout": lambda: nn.Dropout(layer["rate"]),
        "upsample": lambda: nn.Upsample(scale_factor=layer["factor"], mode=layer["mode"]),
        "zeropad": lambda: nn.ZeroPad2d((layer["left"], layer["right"], layer["top"], layer["bottom"])),
    }
    return simple[kind]()


class GraphTwin(nn.Module):
    """The layers in source order; each reads the outputs its description names (-1: the input)."""

    def __init__(self, modules: list[nn.Module], inputs: list[tuple[int, ...]]) -> None:
        super().__init__()
        self.nodes = nn.ModuleList(modules)
        self.inputs = inputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {-1: x}
        for index, (module, reads) in enumerate(zip(self.nodes, self.inputs)):
            values[index] = module(*(values[i] for i in reads))
        return values[len(self.nodes) - 1]


@dataclass(frozen=True)
class Twin:
    module: GraphTwin
    layers: tuple[Figures, ...]  # what torch says about each layer, in source order
    total: Figures


def twin(input_shape: tuple[int, ...], layers: list[dict] | tuple[dict, ...], device: str = "cpu") -> Twin:
    """The twin of ``layers``; on device "meta" only shapes and counts are computed (fast for big nets)."""
    with single_threaded():
        return _twin(input_shape, layers, device)


def _twin(input_shape: tuple[int, ...], layers: list[dict] | tuple[dict, ...], device: str) -> Twin:
    torch.manual_seed(0)
    values = {-1: torch.zeros(channels_first(input_shape), device=device)}
    modules, found = [], []
    for index, layer in enumerate(layers):
        xs = [values[i] for i in layer["inputs"]]
        with torch.device(device):
            module = node_module(layer, channels_last(xs[0].shape)).eval()
        if isinstance(module, Merge):
            macs, out = 0, module(*xs)
        else:
            macs, out = count_macs(module, xs[0])
        values[index] = out
        modules.append(module)
        found.append(Figures(count_params(module), count_buffers(module), macs, channels_last(out.shape)))
    module = GraphTwin(modules, [tuple(layer["inputs"]) for layer in layers]).eval()
    total = Figures(sum(f.params for f in found), sum(f.buffers for f in found), sum(f.macs for f in found),
                    found[-1].output)
    return Twin(module, tuple(found), total)
