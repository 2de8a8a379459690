"""Reference torch modules for the check oracle, written independently of specc.

``reference_layer(layer, shape)`` turns the generator's plain layer
descriptions (tests/strategies.py) into one torch module per spec line, and
``measure`` runs them on zeros to read what the real framework says: output
shape (as H×W×C or N), parameters, buffers and MACs.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch_reference_kinds import Abs, later_layer

ACT = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu6": nn.ReLU6, "silu": nn.SiLU,
       "hardswish": nn.Hardswish, "gelu": nn.GELU, "hardsigmoid": nn.Hardsigmoid}


def _activation(name: str | None, slope: float) -> list[nn.Module]:
    if name in (None, "linear"):
        return []
    if name == "leaky_relu":
        return [nn.LeakyReLU(slope)]
    if name == "softmax":
        return [nn.Softmax(dim=1)]
    if name == "abs":
        return [Abs()]
    return [ACT[name]()]


def _same(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def _padded(layer: dict, h: int, w: int, core: nn.Module, fill: float = 0.0) -> list[nn.Module]:
    if layer["padding"] != "same":
        return [core]
    d = layer.get("dilation", (1, 1))
    top, bottom = _same(h, layer["kernel"][0], layer["stride"][0], d[0])
    left, right = _same(w, layer["kernel"][1], layer["stride"][1], d[1])
    return [nn.ConstantPad2d((left, right, top, bottom), fill), core]


def reference_layer(layer: dict, shape: tuple[int, ...]) -> nn.Module:
    kind = layer["kind"]
    if kind == "conv":
        h, w, c = shape
        pad = 0 if layer["padding"] == "same" else layer["padding"]
        core = nn.Conv2d(c, layer["filters"], layer["kernel"], layer["stride"], pad, layer["dilation"],
                         layer["groups"], layer["bias"])
        return nn.Sequential(*_padded(layer, h, w, core), *_activation(layer["activation"], layer["slope"]))
    if kind in ("maxpool", "avgpool") and "out" in layer:
        return (nn.AdaptiveMaxPool2d if kind == "maxpool" else nn.AdaptiveAvgPool2d)(layer["out"])
    if kind in ("maxpool", "avgpool"):
        h, w, c = shape
        pad = 0 if layer["padding"] == "same" else layer["padding"]
        ceil = layer.get("round_up", layer.get("round") == "up")
        if kind == "maxpool":
            core: nn.Module = nn.MaxPool2d(layer["kernel"], layer["stride"], pad, ceil_mode=ceil)
            return nn.Sequential(*_padded(layer, h, w, core, -math.inf))
        return nn.Sequential(*_padded(layer, h, w, nn.AvgPool2d(layer["kernel"], layer["stride"], pad, ceil_mode=ceil)))
    if kind == "globalavgpool":
        return nn.AdaptiveAvgPool2d(1)
    if kind == "globalmaxpool":
        return nn.AdaptiveMaxPool2d(1)
    if kind == "flatten":
        return nn.Flatten(1)
    if kind == "fc":
        n_in = math.prod(shape)
        return nn.Sequential(nn.Flatten(1), nn.Linear(n_in, layer["units"], layer["bias"]),
                             *_activation(layer["activation"], layer["slope"]))
    if kind == "activation":
        return nn.Sequential(*_activation(layer["function"], layer["slope"]))
    if kind == "batchnorm":
        norm = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
        return norm(shape[-1], eps=layer["eps"], momentum=layer["momentum"])
    if kind == "dropout":
        return nn.Dropout(layer["rate"])
    return later_layer(layer, shape)


def _macs(module: nn.Module, out: torch.Tensor, x: torch.Tensor) -> int:
    macs = 0
    for m in module.modules():
        if isinstance(m, nn.ConvTranspose2d):  # each input value meets every weight of its group
            macs += x[0, 0].numel() * m.weight.numel()
        elif isinstance(m, nn.Conv2d):
            macs += out[0].numel() * m.weight[0].numel()  # each output value: one filter's weights
        elif isinstance(m, nn.Linear):
            macs += m.weight.numel()
    return macs


def _hwc(t: torch.Tensor) -> tuple[int, ...]:
    return (t.shape[2], t.shape[3], t.shape[1]) if t.dim() == 4 else (t.shape[1],)


def measure(input_shape: tuple[int, ...], layers: list[dict], batch: int = 2) -> list[dict]:
    """Per layer: what torch reports for output shape, params, buffers, MACs."""
    x = torch.zeros(batch, input_shape[2], input_shape[0], input_shape[1]) if len(input_shape) == 3 \
        else torch.zeros(batch, input_shape[0])
    found = []
    shape = input_shape
    with torch.no_grad():
        for layer in layers:
            module = reference_layer(layer, shape).eval()
            x, before = module(x), x
            found.append({
                "output": _hwc(x),
                "params": sum(p.numel() for p in module.parameters()),
                "buffers": sum(b.numel() for n, b in module.named_buffers() if "num_batches" not in n),
                "macs": _macs(module, x, before),
            })
            shape = _hwc(x)
    return found


def describe(model) -> tuple[tuple[int, ...], list[dict]]:
    """Plain descriptions from specc's IR (for the hand-written specs in specs/)."""
    layers = []
    for layer in model.layers:
        entry = {k: getattr(layer, k) for k in getattr(type(layer), "__slots__", ())}
        entry["kind"] = layer.kind
        layers.append(entry)
    return model.input, layers
