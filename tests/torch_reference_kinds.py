"""Reference torch modules for the later networks' kinds (issue 12), written
from the generator's descriptions (tests/strategies_kinds.py), independently
of specc: `p=same` of a transposed conv is found by trying PyTorch's own
paddings until the output is in·stride, not by specc's formula.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Abs(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.abs(x)


ACT = {"relu": nn.ReLU, "tanh": nn.Tanh, "relu6": nn.ReLU6, "silu": nn.SiLU, "hardswish": nn.Hardswish,
       "gelu": nn.GELU, "abs": Abs, "hardsigmoid": nn.Hardsigmoid}
# Every kind reference_layer (tests/torch_reference.py) builds; tests/test_tables.py checks it.
BUILT = {"conv", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "flatten", "fc", "activation",
         "batchnorm", "dropout", "convtranspose", "dwconv", "upsample", "zeropad", "layernorm", "instancenorm",
         "groupnorm", "reshape", "layerscale", "droppath"}


class Crop(nn.Module):
    """Drops the last ``rows`` rows and ``cols`` columns (Keras' crop of a `same` transposed conv)."""

    def __init__(self, rows: int, cols: int):
        super().__init__()
        self.rows, self.cols = rows, cols

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :x.shape[2] - self.rows, :x.shape[3] - self.cols]


def same_transposed(n: int, k: int, s: int) -> tuple[int, int, int]:
    """(padding, output_padding, crop): the least padding PyTorch accepts that gives n·s, else a crop."""
    for p in range(k):
        for op in range(s):
            if (n - 1) * s - 2 * p + k + op == n * s:
                return p, op, 0
    p = (k - s) // 2
    return p, 0, (n - 1) * s - 2 * p + k - n * s


class KerasReshape(nn.Module):
    """Keras' Reshape on an NCHW tensor: reshaped in NHWC order (channels last), channels back to axis 1."""

    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nhwc = x.permute(0, *range(2, x.dim()), 1) if x.dim() > 2 else x
        out = nhwc.reshape(x.shape[0], *self.dims)
        return out.permute(0, out.dim() - 1, *range(1, out.dim() - 1)) if out.dim() > 2 else out


class LayerScale(nn.Module):
    """ConvNeXt's layer scale: a learnt factor per channel (torchvision's CNBlock.layer_scale)."""

    def __init__(self, channels: int, init: float, volume: bool):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels, *((1, 1) if volume else ())) * init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's LayerNorm2d (torchvision.models.convnext): LayerNorm over the channels at each position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def _act(name: str | None) -> list[nn.Module]:
    return [] if name is None else [ACT[name]()]


def _convtranspose(layer: dict, shape: tuple[int, ...]) -> nn.Module:
    h, w, c = shape
    if layer["padding"] == "same":
        rows, cols = (same_transposed(n, k, s) for n, k, s in zip((h, w), layer["kernel"], layer["stride"]))
        padding, output_padding, crop = (rows[0], cols[0]), (rows[1], cols[1]), (rows[2], cols[2])
    else:
        padding, output_padding, crop = layer["padding"], layer["output_padding"], (0, 0)
    core = nn.ConvTranspose2d(c, layer["filters"], layer["kernel"], layer["stride"], padding, output_padding,
                              layer["groups"], layer["bias"])
    return nn.Sequential(core, *([Crop(*crop)] if any(crop) else []), *_act(layer["activation"]))


def _dwconv(layer: dict, shape: tuple[int, ...]) -> nn.Module:
    h, w, c = shape
    mods: list[nn.Module] = []
    if layer["padding"] == "same":
        pads = []
        for n, k, s in zip((h, w), layer["kernel"], layer["stride"]):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        mods.append(nn.ZeroPad2d((*pads[1], *pads[0])))
    mods.append(nn.Conv2d(c, c * layer["multiplier"], layer["kernel"], layer["stride"], groups=c, bias=layer["bias"]))
    return nn.Sequential(*mods, *_act(layer["activation"]))


def later_layer(layer: dict, shape: tuple[int, ...]) -> nn.Module:
    kind, c = layer["kind"], shape[-1]
    if kind == "convtranspose":
        return _convtranspose(layer, shape)
    if kind == "dwconv":
        return _dwconv(layer, shape)
    if kind == "upsample":
        return nn.Upsample(scale_factor=tuple(float(f) for f in layer["factor"]), mode=layer["mode"])
    if kind == "zeropad":
        top, bottom, left, right = layer["sides"]
        return nn.ZeroPad2d((left, right, top, bottom))
    if kind == "reshape":
        return KerasReshape(layer["dims"])
    if kind == "layerscale":
        return LayerScale(c, layer["init"], len(shape) == 3)
    if kind == "droppath":
        return nn.Identity()  # at inference; training drops whole samples (tests/test_new_kinds.py)
    if kind == "layernorm":
        if len(shape) == 3 and layer.get("over") == "c":
            return LayerNorm2d(c, eps=layer["eps"], elementwise_affine=layer["affine"])
        if len(shape) == 1:
            return nn.LayerNorm(c, eps=layer["eps"], elementwise_affine=layer["affine"])
        return nn.GroupNorm(1, c, eps=layer["eps"], affine=layer["affine"])
    if kind == "instancenorm":
        return nn.InstanceNorm2d(c, eps=layer["eps"], affine=layer["affine"])
    if kind == "groupnorm":
        return nn.GroupNorm(layer["groups"], c, eps=layer["eps"], affine=layer["affine"])
    raise KeyError(kind)
