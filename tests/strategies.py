"""Hypothesis strategies for valid .cnn specs, with an independent description.

``specs()`` draws ``GeneratedSpec(text, input, layers)``: the spec's text in
varied spellings (aliases, course letters, `×`, tabs, CRLF, comments, labels)
and the generator's own description of every layer (plain dicts). Oracle
tests build torch modules from the description, never from specc's IR, so a
lowering bug cannot agree with itself. Valid by construction: every conv and
pool keeps the map at least 1x1 (computed here, independently of specc).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import strategies as st
from strategies_kinds import later_layer, later_norm, newer_layer

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "softmax", "linear", "relu6", "silu", "hardswish", "gelu",
               "abs", "hardsigmoid")
SPELLED = {"silu": ("silu", "swish")}  # an activation as the spec may write it


@dataclass(frozen=True)
class GeneratedSpec:
    text: str
    input: tuple[int, ...]  # (H, W, C) or (N,)
    layers: tuple[dict, ...]


def _out(n: int, k: int, s: int, pad_total: int, d: int = 1) -> int:
    return (n + pad_total - d * (k - 1) - 1) // s + 1


def _same_total(n: int, k: int, s: int, d: int = 1) -> int:
    out = -(-n // s)
    return max((out - 1) * s + d * (k - 1) + 1 - n, 0)


def _pair_text(draw, a: int, b: int, names: tuple[str, ...]) -> str:
    value = str(a) if a == b and draw(st.booleans()) else f"{a}{draw(st.sampled_from('xx×'))}{b}"
    return value if not names else f"{draw(st.sampled_from(names))}={value}"


@st.composite
def _conv(draw, shape):
    h, w, c = shape
    groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if c % g == 0]))
    filters = groups * draw(st.integers(1, max(1, 8 // groups)))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["valid", "same", "int", "pair"]))
    ph = pw = 0
    if padding == "int":
        ph = pw = draw(st.integers(0, 2))
    elif padding == "pair":
        ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    if padding != "same" and (_out(h, kh, sh, 2 * ph, dh) < 1 or _out(w, kw, sw, 2 * pw, dw) < 1):
        padding = "same"
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
    else:
        oh, ow = _out(h, kh, sh, 2 * ph, dh), _out(w, kw, sw, 2 * pw, dw)
    bias = draw(st.booleans())
    act = draw(st.sampled_from((None,) + ACTIVATIONS))
    slope = draw(st.sampled_from([0.01, 0.2])) if act == "leaky_relu" else 0.01
    words = ["conv", str(filters)]
    if draw(st.booleans()):
        words.append(_pair_text(draw, kh, kw, ()))
    else:
        words.append(_pair_text(draw, kh, kw, ("f", "kernel")))
    if (sh, sw) != (1, 1) or draw(st.booleans()):
        words.append(_pair_text(draw, sh, sw, ("s", "stride")))
    if padding in ("valid", "same"):
        if padding == "same" or draw(st.booleans()):
            words.append(f"{draw(st.sampled_from(('p', 'padding')))}={padding}")
    else:
        words.append(_pair_text(draw, ph, pw, ("p", "padding")))
    if (dh, dw) != (1, 1):
        words.append(_pair_text(draw, dh, dw, ("dilation",)))
    if groups != 1:
        words.append(f"groups={groups}")
    if not bias:
        words.append("bias=false")
    if act is not None:
        words.append(act if draw(st.booleans()) else f"activation={act}")
        if act == "leaky_relu":
            words.append(f"slope={slope}")
    layer = dict(kind="conv", filters=filters, kernel=(kh, kw), stride=(sh, sw), dilation=(dh, dw), groups=groups,
                 padding="same" if padding == "same" else (ph, pw), bias=bias, activation=act, slope=slope)
    return " ".join(words), layer, (oh, ow, filters)


def _ceil_out(n: int, k: int, s: int, before: int, after: int) -> int:
    """PyTorch's ceil_mode: rounded up, less a last window starting past the input and the left padding."""
    out = math.ceil((n + before + after - k) / s) + 1
    return out - 1 if out > 1 and (out - 1) * s >= n + before else out


@st.composite
def _pool(draw, shape):
    h, w, c = shape
    op = draw(st.sampled_from(["max", "avg"]))
    if draw(st.integers(0, 4)) == 0:  # adaptive: out= sizes the windows, smaller or larger than the map
        oh, ow = draw(st.integers(1, 7)), draw(st.integers(1, 7))
        return (f"{op}pool {_pair_text(draw, oh, ow, ('out',))}",
                dict(kind=f"{op}pool", out=(oh, ow)), (oh, ow, c))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    sh, sw = stride or (kh, kw)
    padding = draw(st.sampled_from(["none", "same", "pair"]))
    ph, pw = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))) if padding == "pair" else (0, 0)
    round_up = padding != "same" and draw(st.booleans())
    size = (lambda n, k, s, p: _ceil_out(n, k, s, p, p)) if round_up else (lambda n, k, s, p: _out(n, k, s, 2 * p))
    if padding != "same" and (size(h, kh, sh, ph) < 1 or size(w, kw, sw, pw) < 1):
        padding, round_up = "same", False
    oh, ow = ((-(-h // sh), -(-w // sw)) if padding == "same" else (size(h, kh, sh, ph), size(w, kw, sw, pw)))
    words = [f"{op}pool", _pair_text(draw, kh, kw, ())]
    if stride:
        words.append(_pair_text(draw, sh, sw, ("s", "stride")))
    if padding == "same":
        words.append("padding=same")
    elif padding == "pair":
        words.append(_pair_text(draw, ph, pw, ("p", "padding")))
    if round_up or (padding != "same" and draw(st.integers(0, 5)) == 0):
        words.append("round=up" if round_up else "round=down")
    layer = dict(kind=f"{op}pool", kernel=(kh, kw), stride=(sh, sw),
                 padding="same" if padding == "same" else (ph, pw), round_up=round_up)
    return " ".join(words), layer, (oh, ow, c)


@st.composite
def _simple(draw, shape):
    choice = draw(st.sampled_from(["activation", "batchnorm", "dropout", "fc"]))
    if choice == "activation":
        fn = draw(st.sampled_from(ACTIVATIONS))
        slope = draw(st.sampled_from([0.01, 0.3])) if fn == "leaky_relu" else 0.01
        text = draw(st.sampled_from(SPELLED.get(fn, (fn,))))
        text = f"activation {text}" if draw(st.integers(0, 3)) == 0 else text  # the statement form
        text += f" slope={slope}" if fn == "leaky_relu" and slope != 0.01 else ""
        return text, dict(kind="activation", function=fn, slope=slope), shape
    if choice == "batchnorm":
        eps = draw(st.sampled_from([1e-5, 1e-3]))
        momentum = draw(st.sampled_from([0.1, 0.01]))
        return f"batchnorm eps={eps} momentum={momentum}", dict(kind="batchnorm", eps=eps, momentum=momentum), shape
    if choice == "dropout":
        rate = draw(st.sampled_from([0, 0.25, 0.5]))
        return f"dropout {rate}", dict(kind="dropout", rate=rate), shape
    units = draw(st.integers(1, 12))
    bias = draw(st.booleans())
    act = draw(st.sampled_from((None,) + ACTIVATIONS))
    words = [draw(st.sampled_from(["fc", "fc", "dense"])), str(units)]
    if not bias:
        words.append("bias=false")
    if act:
        words.append(act)
    return " ".join(words), dict(kind="fc", units=units, bias=bias, activation=act, slope=0.01), (units,)


@st.composite
def specs(draw, max_layers: int = 8) -> GeneratedSpec:
    if draw(st.integers(0, 9)) == 0:
        shape: tuple[int, ...] = (draw(st.integers(1, 48)),)
        input_text = str(shape[0])
    else:
        h, w, c = draw(st.integers(1, 20)), draw(st.integers(1, 20)), draw(st.integers(1, 6))
        shape = (h, w, c)
        input_text = f"{h}x{w}" if c == 1 and draw(st.booleans()) else f"{h}{draw(st.sampled_from('x×'))}{w}x{c}"
    lines = [f"model generated_{draw(st.integers(0, 999))}"] if draw(st.booleans()) else []
    lines.append(f"input {input_text}")
    layers = []
    for index in range(draw(st.integers(1, max_layers))):
        if len(shape) == 3:
            kind = draw(st.sampled_from(["conv", "conv", "conv", "pool", "pool", "global", "flatten", "simple",
                                         "later", "newer"]))
        else:
            kind = draw(st.sampled_from(["simple", "simple", "simple", "norm", "newer"]))
        if kind == "newer":
            text, layer, shape = draw(newer_layer(shape))
        elif kind == "later":
            text, layer, shape = draw(later_layer(shape))
        elif kind == "norm":
            text, layer, shape = draw(later_norm(shape))
        elif kind == "conv":
            text, layer, shape = draw(_conv(shape))
        elif kind == "pool":
            text, layer, shape = draw(_pool(shape))
        elif kind == "global":
            op = draw(st.sampled_from(["avg", "max"]))
            text, layer, shape = f"global{op}pool", dict(kind=f"global{op}pool"), (1, 1, shape[2])
        elif kind == "flatten":
            text, layer, shape = "flatten", dict(kind="flatten"), (shape[0] * shape[1] * shape[2],)
        else:
            text, layer, shape = draw(_simple(shape))
        if draw(st.integers(0, 4)) == 0:
            text = f"l{index}: {text}"
        indent = draw(st.sampled_from(["", "  ", "\t"]))
        comment = draw(st.sampled_from(["", "  # a comment"]))
        lines.append(indent + text + comment)
        layers.append(layer)
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return GeneratedSpec(newline.join(lines) + newline, _input(input_text), tuple(layers))


def _input(text: str) -> tuple[int, ...]:
    dims = tuple(int(d) for d in text.replace("×", "x").split("x"))
    return dims + (1,) if len(dims) == 2 else dims
