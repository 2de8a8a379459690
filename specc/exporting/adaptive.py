"""Pooling the ONNX exporter or ONNX's shape inference does not take as PyTorch computes it.

Adaptive pooling (`maxpool out=HxW`, `avgpool out=HxW`):
torch exports adaptive pooling only where the output is 1 or divides the input
(otherwise: "output size that are not factor of input size", and 3-D average or
uneven max pooling fail in the dynamo exporter). While exporting, each adaptive
pooling module of the spec runs this module's forward instead: fixed windows where
every axis divides (kernel = stride = n/out, PyTorch's own windows then), else its
windows one axis at a time, each a slice reduced by max or mean and concatenated.
Both are exact: an adaptive window is a product of one interval per axis, and max
and mean over such a product are the max and mean of the per-axis reductions. The
verification (specc.exporting.verify) compares the result with the module as built.

`round=up` (ceil_mode) where PyTorch drops a last window that would start in the
right padding: ONNX's ceil_mode keeps it, so shape inference disagrees with the
graph. There the module runs as padding and a floor-mode window instead: -inf
padding for max pooling; for average pooling zero padding, then each output
rescaled from the full kernel to PyTorch's divisor (the window clipped to the
padded input).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_ADAPTIVE = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
             nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
_FIXED: dict[tuple[bool, int], Callable[..., torch.Tensor]] = {
          (False, 1): F.avg_pool1d, (False, 2): F.avg_pool2d, (False, 3): F.avg_pool3d,
          (True, 1): F.max_pool1d, (True, 2): F.max_pool2d, (True, 3): F.max_pool3d}


def _sizes(module: Any, spatial: tuple[int, ...]) -> tuple[int, ...]:
    size = module.output_size
    sizes = (size,) * len(spatial) if isinstance(size, int) else tuple(size)
    return tuple(n if o is None else o for o, n in zip(sizes, spatial))


def pooled(module: Any, x: torch.Tensor) -> torch.Tensor:
    """What ``module`` (an adaptive pooling) computes, written with fixed windows or slices."""
    is_max = isinstance(module, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d))
    spatial = tuple(int(n) for n in x.shape[2:])
    out = _sizes(module, spatial)
    if all(n % o == 0 for n, o in zip(spatial, out)):
        window = tuple(n // o for n, o in zip(spatial, out))
        return _FIXED[is_max, len(spatial)](x, window, window)
    for axis, (n, o) in enumerate(zip(spatial, out), start=2):
        if n == o:
            continue
        pieces = []
        for i in range(o):
            start, end = i * n // o, -(-(i + 1) * n // o)
            piece = x.narrow(axis, start, end - start)
            pieces.append(piece.amax(dim=axis, keepdim=True) if is_max else piece.mean(dim=axis, keepdim=True))
        x = torch.cat(pieces, dim=axis)
    return x


_CEIL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)


def _axes(value, rank: int) -> tuple[int, ...]:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def rounded_up(module: Any, x: torch.Tensor) -> torch.Tensor:
    """A ceil_mode pooling without ceil_mode where PyTorch drops a last window ONNX would keep."""
    spatial = tuple(int(n) for n in x.shape[2:])
    rank = len(spatial)
    kernel, stride = _axes(module.kernel_size, rank), _axes(module.stride, rank)
    padding = _axes(module.padding, rank)
    outs, kept = [], []
    for n, k, s, p in zip(spatial, kernel, stride, padding):
        o = -((k - n - 2 * p) // s) + 1
        kept.append(o)
        outs.append(o - 1 if o > 1 and (o - 1) * s >= n + p else o)
    if outs == kept:
        return type(module).forward(module, x)
    is_max = isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d))
    right = [max((o - 1) * s + k - n - p, 0) for o, n, k, s, p in zip(outs, spatial, kernel, stride, padding)]
    sides = [v for p, r in reversed(list(zip(padding, right))) for v in (p, r)]  # F.pad: the last axis first
    y = _FIXED[is_max, rank](F.pad(x, sides, value=float("-inf") if is_max else 0.0), kernel, stride)
    if is_max:
        return y
    for axis, (o, n, k, s, p) in enumerate(zip(outs, spatial, kernel, stride, padding), start=2):
        divisor = [min(i * s + k, n + 2 * p) - i * s for i in range(o)]  # PyTorch's, in padded coordinates
        if any(d != k for d in divisor):
            shape = [1] * y.dim()
            shape[axis] = o
            y = y * torch.tensor([k / d for d in divisor], dtype=y.dtype).reshape(shape)
    return y


@contextlib.contextmanager
def exportable(model: nn.Module) -> Iterator[None]:
    """While the block runs, every adaptive pooling in ``model`` other than to 1 computes as ``pooled``,
    and every ceil_mode pooling as ``rounded_up``."""
    swapped: list[tuple[Any, Callable[[Any, torch.Tensor], torch.Tensor]]] = []
    for m in model.modules():
        if isinstance(m, _ADAPTIVE) and m.output_size not in (1, (1,), (1, 1), (1, 1, 1)):
            swapped.append((m, pooled))
        elif isinstance(m, _CEIL) and m.ceil_mode:
            swapped.append((m, rounded_up))
    for m, rewrite in swapped:
        # an instance attribute, which nn.Module.__call__ finds first: the class's forward is untouched
        m.forward = functools.partial(rewrite, m)
    try:
        yield
    finally:
        for m, _ in swapped:
            del m.forward
