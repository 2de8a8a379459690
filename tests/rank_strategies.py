"""Hypothesis strategies for 1-D and 3-D stacks, with an independent description.

The lecture "1D and 3D generalizations": `input LxC layout=lc` (a signal)
and `input DxHxWxC` (a volume); `conv`, `maxpool`, `avgpool`,
`globalavgpool`, `flatten` and `fc` take their rank from their input
(spec-graphs.md section 5). ``rank_specs()`` draws ``RankSpec(text, input,
layers)``: the spec's text and the generator's own description of each layer
with its expected shape; rank_twin.py builds the torch twin from the
description. Valid by construction: every map stays at least 1 long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class RankSpec:
    text: str
    input: tuple[int, ...]  # (L, C) or (D, H, W, C)
    layers: tuple[dict, ...]


def out_size(n: int, k: int, s: int, p: int | str) -> int:
    return -(-n // s) if p == "same" else (n + 2 * p - k) // s + 1


def _kernel_text(draw, kernel: tuple[int, ...]) -> str:
    if len(set(kernel)) == 1 and (len(kernel) == 1 or draw(st.booleans())):
        return str(kernel[0])  # one number: the same size on every axis
    return "x".join(map(str, kernel))


def ceil_size(n: int, k: int, s: int, p: int | str) -> int:
    """PyTorch's ceil_mode (`round=up`): rounded up, less a last window that starts in the right padding."""
    assert p != "same"
    out = math.ceil((n + 2 * int(p) - k) / s) + 1
    return out - 1 if out > 1 and (out - 1) * s >= n + int(p) else out


@st.composite
def _window(draw, kind: str, shape: tuple[int, ...]) -> tuple[str, dict]:
    """A conv or pooling line whose output keeps every axis at least 1."""
    rank = len(shape) - 1
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(rank)) if draw(st.booleans()) \
        else (draw(st.integers(1, 3)),) * rank
    if kind != "conv" and draw(st.integers(0, 4)) == 0:  # adaptive pooling: out= sizes the windows
        out = tuple(draw(st.integers(1, 5)) for _ in range(rank))
        return f"{kind} out={_kernel_text(draw, out)}", dict(kind=kind, out=out, shape=(*out, shape[-1]))
    stride = draw(st.sampled_from([None, 1, 2])) if kind != "conv" else draw(st.sampled_from([1, 2]))
    padding = draw(st.sampled_from(["same", 0, 1] if kind == "conv" or min(kernel) > 1 else ["same", 0]))
    round_up = kind != "conv" and padding != "same" and draw(st.booleans())
    if round_up and kind == "avgpool" and rank == 3 and any(n < k for n, k in zip(shape, kernel)):
        round_up = False  # AvgPool3d refuses an input smaller than its kernel under ceil_mode (E201)
    size = ceil_size if round_up else out_size
    if padding != "same" and any(size(n, k, stride or k, padding) < 1 for n, k in zip(shape, kernel)):
        padding, round_up, size = "same", False, out_size
    words = [kind] + ([str(draw(st.integers(1, 6)))] if kind == "conv" else []) + [_kernel_text(draw, kernel)]
    # A pooling line without s= strides by its kernel, so its stride 1 must be written.
    if stride is not None and (stride != 1 or kind != "conv" or draw(st.booleans())):
        words.append(f"s={stride}")
    if padding != 0 or draw(st.booleans()):
        words.append(f"p={padding}")
    if round_up:
        words.append("round=up")
    strides = (stride,) * rank if stride else kernel
    out = tuple(size(n, k, s, padding) for n, k, s in zip(shape, kernel, strides))
    layer = dict(kind=kind, kernel=kernel, stride=strides, padding=padding, round_up=round_up)
    if kind == "conv":
        layer["filters"] = int(words[1])
        layer["activation"] = draw(st.sampled_from([None, "relu"]))
        words += [layer["activation"]] if layer["activation"] else []
        return " ".join(words), dict(layer, shape=(*out, layer["filters"]))
    return " ".join(words), dict(layer, shape=(*out, shape[-1]))


@st.composite
def rank_specs(draw) -> RankSpec:
    rank = draw(st.sampled_from([1, 3]))
    shape = (*(draw(st.integers(3, 16 if rank == 1 else 6)) for _ in range(rank)), draw(st.integers(1, 3)))
    lines = ["input " + "x".join(map(str, shape)) + (" layout=lc" if rank == 1 else "")]
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool", "batchnorm", "relu"]))
        if kind in ("batchnorm", "relu"):
            text, layer = kind, dict(kind=kind, shape=shape)
        else:
            text, layer = draw(_window(kind, shape))
        lines.append(text)
        layers.append(layer)
        shape = layer["shape"]
    tail = draw(st.sampled_from(["", "globalavgpool", "flatten", "fc"]))
    if tail == "globalavgpool":
        shape = (1,) * rank + shape[-1:]
        lines.append(tail)
        layers.append(dict(kind=tail, shape=shape))
    if tail in ("flatten", "fc"):
        if tail == "flatten":
            lines.append(tail)
            layers.append(dict(kind=tail, shape=(math.prod(shape),)))
        units = draw(st.integers(1, 5))
        lines.append(f"fc {units}")
        layers.append(dict(kind="fc", units=units, shape=(units,)))
    return RankSpec("\n".join(lines) + "\n", tuple(int(d) for d in lines[0].split()[1].split("x")), tuple(layers))
