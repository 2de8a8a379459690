"""Hypothesis strategies for the later networks' kinds (issue 12), with the
generator's own description of each layer, as tests/strategies.py does for
the first kinds: convtranspose/deconv, dwconv, upsample, zeropad and the
norms. Shapes are computed here from the contract's formulas
(spec-graphs.md section 5), never from specc.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

# Every layer kind a generator in tests/strategies.py or here can draw (tests/test_tables.py checks it).
DRAWN = {"conv", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "flatten", "fc", "activation",
         "batchnorm", "dropout", "convtranspose", "dwconv", "upsample", "zeropad", "layernorm", "instancenorm",
         "groupnorm", "reshape", "layerscale", "droppath"}
ACTIVATION_WORDS = (None, "relu", "relu6", "silu", "swish", "hardswish", "gelu", "tanh", "abs", "hardsigmoid")


def _axes(draw, low: int, high: int) -> tuple[int, int]:
    a = draw(st.integers(low, high))
    return (a, a) if draw(st.booleans()) else (a, draw(st.integers(low, high)))


def _text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _activation(draw, words: list[str]) -> str | None:
    word = draw(st.sampled_from(ACTIVATION_WORDS))
    if word:
        words.append(word)
    return {"swish": "silu"}.get(word, word)


@st.composite
def _convtranspose(draw, shape):
    h, w, c = shape
    groups = draw(st.sampled_from([g for g in (1, 2) if c % g == 0]))
    filters = groups * draw(st.integers(1, 3))
    kernel, stride = _axes(draw, 1, 4), _axes(draw, 1, 3)
    same = draw(st.booleans())
    words = [draw(st.sampled_from(["convtranspose", "deconv"])), str(filters), _text(kernel), f"s={_text(stride)}"]
    if same:
        words.append("p=same")
        padding, output_padding = "same", (0, 0)
        out = (h * stride[0], w * stride[1])
    else:
        padding = tuple(draw(st.integers(0, (k - 1) // 2)) for k in kernel)
        output_padding = tuple(draw(st.integers(0, s - 1)) for s in stride)
        words += [f"p={_text(padding)}", f"output_padding={_text(output_padding)}"]
        out = tuple((n - 1) * s - 2 * p + k + op for n, s, p, k, op in zip((h, w), stride, padding, kernel,
                                                                           output_padding))
    bias = draw(st.booleans())
    words += [] if bias else ["bias=false"]
    groups_word = [f"groups={groups}"] if groups > 1 else []
    act = _activation(draw, words)
    layer = dict(kind="convtranspose", filters=filters, kernel=kernel, stride=stride, padding=padding,
                 output_padding=output_padding, groups=groups, bias=bias, activation=act, slope=0.01)
    return " ".join(words[:4] + groups_word + words[4:]), layer, (*out, filters)


@st.composite
def _dwconv(draw, shape):
    h, w, c = shape
    kernel = _axes(draw, 1, min(h, w, 3)) if draw(st.booleans()) else (1, 1)
    stride, multiplier = _axes(draw, 1, 2), draw(st.integers(1, 2))
    same = draw(st.booleans())
    words = ["dwconv", _text(kernel), f"s={_text(stride)}"]
    words += ["p=same"] if same else []
    words += [f"multiplier={multiplier}"] if multiplier > 1 or draw(st.booleans()) else []
    bias = draw(st.booleans())
    words += [] if bias else ["bias=false"]
    act = _activation(draw, words)
    if same:
        out = (-(-h // stride[0]), -(-w // stride[1]))
    else:
        out = tuple((n - k) // s + 1 for n, k, s in zip((h, w), kernel, stride))
    layer = dict(kind="dwconv", kernel=kernel, stride=stride, padding="same" if same else (0, 0),
                 multiplier=multiplier, bias=bias, activation=act, slope=0.01)
    return " ".join(words), layer, (*out, c * multiplier)


@st.composite
def _upsample(draw, shape):
    h, w, c = shape
    factor, mode = _axes(draw, 1, 3), draw(st.sampled_from(["nearest", "bilinear"]))
    words = ["upsample", _text(factor)] + ([f"mode={mode}"] if mode != "nearest" or draw(st.booleans()) else [])
    return " ".join(words), dict(kind="upsample", factor=factor, mode=mode), (h * factor[0], w * factor[1], c)


@st.composite
def _zeropad(draw, shape):
    h, w, c = shape
    rows, cols = _axes(draw, 0, 2)
    sides = [rows, rows, cols, cols]
    words = ["zeropad", _text((rows, cols))]
    for i, side in enumerate(("top", "bottom", "left", "right")):
        if draw(st.integers(0, 3)) == 0:
            sides[i] = draw(st.integers(0, 3))
            words.append(f"{side}={sides[i]}")
    out = (h + sides[0] + sides[1], w + sides[2] + sides[3], c)
    return " ".join(words), dict(kind="zeropad", sides=tuple(sides)), out


@st.composite
def later_norm(draw, shape):
    """A norm line on a volume or a vector (instancenorm only on a volume)."""
    c, size = shape[-1], math.prod(shape)
    if size == 1:  # a norm over one value is E208: PyTorch refuses it
        return "relu6", dict(kind="activation", function="relu6", slope=0.01), shape
    kinds = ["layernorm", "groupnorm"] + (["instancenorm"] if len(shape) == 3 and size > c else [])
    kind = draw(st.sampled_from(kinds))
    over = "c" if kind == "layernorm" and c > 1 and draw(st.booleans()) else "chw"  # ConvNeXt's, per position
    groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0 and size // g > 1])) \
        if kind == "groupnorm" else 1
    eps, affine = draw(st.sampled_from([1e-5, 1e-3])), draw(st.booleans())
    words = [kind] + ([str(groups)] if kind == "groupnorm" else [])
    words += [f"eps={eps}"] if eps != 1e-5 else []
    words += [] if affine else ["affine=false"]
    words += [] if over == "chw" else ["over=c"]
    return " ".join(words), dict(kind=kind, groups=groups, eps=eps, affine=affine, over=over), shape


@st.composite
def later_layer(draw, shape):
    """One line of a later kind on an HxWxC volume, its description and its output shape."""
    growing = [_convtranspose, _upsample, _zeropad] if shape[0] * shape[1] <= 100 else []
    which = draw(st.sampled_from([*growing, _dwconv, later_norm]))
    return draw(which(shape))


def _reshaped(draw, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape of as many values that the stack's generators go on from: a volume HxWxC or a vector."""
    n = math.prod(shape)
    if len(shape) == 1 or draw(st.integers(0, 3)) == 0:
        volumes = [(a, b, n // (a * b)) for a in range(1, 7) for b in range(1, 7) if n % (a * b) == 0]
        return draw(st.sampled_from([(n,), *volumes])) if len(shape) == 3 else draw(st.sampled_from(volumes))
    h, w, c = shape
    return draw(st.sampled_from([(w, h, c), (h * w, 1, c), (1, 1, n), (h, w * c, 1), (n,)]))


@st.composite
def newer_layer(draw, shape):
    """One line of the kinds ConvNeXt and MobileNetV3 brought (issue 23) on a volume or a vector:
    reshape (in the spec's channels-last order), layerscale, droppath (the identity at inference)."""
    kind = draw(st.sampled_from(["reshape", "layerscale", "droppath"]))
    if kind == "reshape":
        out = _reshaped(draw, shape)
        return f"reshape {'x'.join(map(str, out))}", dict(kind="reshape", dims=out), out
    if kind == "layerscale":
        init = draw(st.sampled_from([1e-6, 0.5, 2.0]))
        return f"layerscale {init}", dict(kind="layerscale", init=init), shape
    rate = draw(st.sampled_from([None, 0.0, 0.2]))
    return "droppath" if rate is None else f"droppath {rate}", dict(kind="droppath", rate=rate or 0.0), shape
