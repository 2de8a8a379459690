"""Torch twins of 1-D and 3-D stacks, built from rank_strategies.py's description.

Conv1d/Conv3d, MaxPool/AvgPool of the same rank, BatchNorm1d/3d, adaptive
average pooling, flatten and fc; `padding=same` pads each axis with the odd
pixel at its end, as spec-language.md defines it. Figures follow twins.py.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from graph_twin import same_sides
from torch import nn
from twins import Figures, channels_first, channels_last, count_buffers, count_macs, count_params, single_threaded

CONV = {1: nn.Conv1d, 3: nn.Conv3d}
POOL = {("maxpool", 1): nn.MaxPool1d, ("maxpool", 3): nn.MaxPool3d, ("avgpool", 1): nn.AvgPool1d,
        ("avgpool", 3): nn.AvgPool3d}
NORM = {1: nn.BatchNorm1d, 3: nn.BatchNorm3d}
GLOBAL = {1: nn.AdaptiveAvgPool1d, 3: nn.AdaptiveAvgPool3d}
ADAPTIVE = {("maxpool", 1): nn.AdaptiveMaxPool1d, ("maxpool", 3): nn.AdaptiveMaxPool3d,
            ("avgpool", 1): nn.AdaptiveAvgPool1d, ("avgpool", 3): nn.AdaptiveAvgPool3d}


class SamePad(nn.Module):
    def __init__(self, sides: list[tuple[int, int]], fill: float) -> None:
        super().__init__()
        self.pad = tuple(p for side in reversed(sides) for p in side)  # F.pad lists the last axis first
        self.fill = fill

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad, value=self.fill)


def layer_module(layer: dict, shape: tuple[int, ...]) -> nn.Module:
    kind, rank, c = layer["kind"], len(shape) - 1, shape[-1]
    if kind in ("maxpool", "avgpool") and "out" in layer:
        return ADAPTIVE[kind, rank](layer["out"])
    if kind in ("conv", "maxpool", "avgpool"):
        pad: list[nn.Module] = []
        padding = layer["padding"]
        if padding == "same":
            sides = [same_sides(n, k, s) for n, k, s in zip(shape, layer["kernel"], layer["stride"])]
            pad, padding = [SamePad(sides, -math.inf if kind == "maxpool" else 0.0)], 0
        elif kind != "conv" and padding and not layer["round_up"]:
            # AvgPool3d refuses an input smaller than its kernel even where the padding makes up the difference;
            # padding first computes the same (padded zeros count, as count_include_pad=True; -inf never wins).
            sides = [(padding, padding)] * rank
            pad, padding = [SamePad(sides, -math.inf if kind == "maxpool" else 0.0)], 0
        if kind == "conv":
            core = CONV[rank](c, layer["filters"], layer["kernel"], layer["stride"], padding)
            return nn.Sequential(*pad, core, *([nn.ReLU()] if layer["activation"] else []))
        return nn.Sequential(*pad, POOL[kind, rank](layer["kernel"], layer["stride"], padding,
                                                    ceil_mode=layer["round_up"]))
    if kind == "batchnorm":
        return NORM[rank](c)
    if kind == "relu":
        return nn.ReLU()
    if kind == "globalavgpool":
        return GLOBAL[rank](1)
    if kind == "flatten":
        return nn.Flatten(1)
    return nn.Sequential(nn.Flatten(1), nn.Linear(math.prod(shape), layer["units"]))


def rank_twin(input_shape: tuple[int, ...], layers: tuple[dict, ...]) -> list[Figures]:
    """What torch says about each layer of the stack, in order."""
    x, found = torch.zeros(channels_first(input_shape)), []
    with single_threaded():
        for layer in layers:
            module = layer_module(layer, channels_last(x.shape)).eval()
            macs, x = count_macs(module, x)
            found.append(Figures(count_params(module), count_buffers(module), macs, channels_last(x.shape)))
    return found
