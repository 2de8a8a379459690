"""One layer of a generated graph spec: its concrete description and shape.

``layer(kind, args, opts, input_shapes)`` reads the values of one statement
(already evaluated by graph_lines.py) the way spec-language.md and
spec-graphs.md define them, and returns a plain dict for graph_twin.py with
the output shape the contract's formulas give. Raises ``Invalid`` where the
statement would be an error (a map below 1x1, a merge that does not fit),
so the generator only keeps valid specs. No torch here.
"""

from __future__ import annotations

import math

Shape = tuple[int, ...]
ACTIVATIONS = ("relu", "relu6", "sigmoid", "tanh", "leaky_relu", "silu", "swish", "hardswish", "gelu", "softmax",
               "abs", "hardsigmoid")
NORMS = ("batchnorm", "layernorm", "instancenorm", "groupnorm")
MERGES = ("add", "subtract", "concat", "multiply")  # the merges _merge knows (tests/test_tables.py checks the list)
ALIASES = {"stride": "s", "padding": "p"}


class Invalid(Exception):
    """The drawn statement would not check clean; the generator draws something else."""


def pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def conv_out(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    """floor((n + 2p - d(k-1) - 1) / s) + 1, the course's formula with dilation."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def spatial(shape: Shape, kernel, stride, padding, dilation=(1, 1)) -> tuple[int, int]:
    if padding == "same":
        return -(-shape[0] // stride[0]), -(-shape[1] // stride[1])
    h, w = (conv_out(n, k, s, p, d) for n, k, s, p, d in zip(shape, kernel, stride, padding, dilation))
    if h < 1 or w < 1:
        raise Invalid(f"map {h}x{w}")
    return h, w


def _padding(value) -> str | tuple[int, int]:
    return "same" if value == "same" else (0, 0) if value == "valid" else pair(value)


def _activation(args: tuple, opts: dict) -> str | None:
    words = [a for a in args if isinstance(a, str) and a in ACTIVATIONS]
    return opts.get("activation", words[0] if words else None)


def _conv(kind: str, args: tuple, opts: dict, shape: Shape) -> dict:
    h, w, c = shape
    if kind == "dwconv":
        kernel, multiplier = pair(args[0]), opts.get("multiplier", 1)
        groups, filters = c, c * multiplier
    else:
        filters, kernel, groups = args[0], pair(args[1]), opts.get("groups", 1)
        multiplier = None
    if c % groups or filters % groups:
        raise Invalid("groups")
    stride, padding = pair(opts.get("s", 1)), _padding(opts.get("p", "valid"))
    dilation = pair(opts.get("dilation", 1))
    oh, ow = spatial((h, w), kernel, stride, padding, dilation)
    return dict(kind="conv", filters=filters, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                groups=groups, bias=opts.get("bias", True), activation=_activation(args, opts),
                multiplier=multiplier, shape=(oh, ow, filters))


def _transposed(args: tuple, opts: dict, shape: Shape) -> dict:
    h, w, _ = shape
    filters, kernel, stride = args[0], pair(args[1]), pair(opts.get("s", 1))
    padding, extra = opts.get("p", 0), pair(opts.get("output_padding", 0))
    if padding == "same":
        out = (h * stride[0], w * stride[1])
    else:
        padding = pair(padding)
        if any(e >= s for e, s in zip(extra, stride)):
            raise Invalid("output_padding must be smaller than the stride")
        out = tuple((n - 1) * s - 2 * p + k + e for n, s, p, k, e in zip((h, w), stride, padding, kernel, extra))
    if min(out) < 1:
        raise Invalid("map below 1x1")
    return dict(kind="convtranspose", filters=filters, kernel=kernel, stride=stride, padding=padding,
                output_padding=extra, bias=opts.get("bias", True), activation=_activation(args, opts),
                shape=(*out, filters))


def ceil_out(n: int, k: int, s: int, p: int) -> int:
    """PyTorch's ceil_mode (`round=up`): rounded up, less a last window that starts in the right padding."""
    out = -((k - n - 2 * p) // s) + 1
    return out - 1 if out > 1 and (out - 1) * s >= n + p else out


def _pool(kind: str, args: tuple, opts: dict, shape: Shape) -> dict:
    if len(shape) != 3:
        raise Invalid("pooling of volumes only")
    if "out" in opts:
        out = pair(opts["out"])
        return dict(kind=kind, out=out, shape=(*out, shape[2]))
    kernel = pair(args[0])
    stride, padding = pair(opts.get("s", kernel)), _padding(opts.get("p", "valid"))
    if padding != "same" and any(2 * p > k for p, k in zip(padding, kernel)):
        raise Invalid("pool padding above half the kernel")
    round_up = opts.get("round") == "up" and padding != "same"
    if round_up:
        oh, ow = (ceil_out(n, k, s, p) for n, k, s, p in zip(shape[:2], kernel, stride, padding))
        if oh < 1 or ow < 1:
            raise Invalid(f"map {oh}x{ow}")
    else:
        oh, ow = spatial(shape[:2], kernel, stride, padding)
    return dict(kind=kind, kernel=kernel, stride=stride, padding=padding, round_up=round_up, shape=(oh, ow, shape[2]))


def _merge(kind: str, shapes: list[Shape]) -> dict:
    if any(len(s) != 3 for s in shapes):
        raise Invalid("merges of volumes only")
    if kind in ("add", "subtract") and len(set(shapes)) != 1:
        raise Invalid(f"{kind}: shapes differ")
    if kind == "concat":
        if len({s[:2] for s in shapes}) != 1:
            raise Invalid("concat: H and W differ")
        return dict(kind=kind, shape=(*shapes[0][:2], sum(s[2] for s in shapes)))
    if kind == "multiply":
        big = max(shapes, key=math.prod)
        if any(s != big and s != (1, 1, big[2]) for s in shapes):
            raise Invalid("multiply: shapes differ")
        return dict(kind=kind, shape=big)
    return dict(kind=kind, shape=shapes[0])


def _zeropad(args: tuple, opts: dict, shape: Shape) -> dict:
    rows, cols = pair(args[0]) if args else (0, 0)
    sides = {side: opts.get(side, rows if side in ("top", "bottom") else cols)
             for side in ("top", "bottom", "left", "right")}
    h, w, c = shape
    out = (h + sides["top"] + sides["bottom"], w + sides["left"] + sides["right"], c)
    return dict(kind="zeropad", **sides, shape=out)


def layer(kind: str, args: tuple, opts: dict, shapes: list[Shape]) -> dict:
    """The concrete description of one statement reading layers of ``shapes``."""
    opts = {ALIASES.get(name, name): value for name, value in opts.items()}
    if kind in MERGES:
        return _merge(kind, shapes)
    shape = shapes[0]
    volume_only = kind not in ("fc", "dropout", "batchnorm", *ACTIVATIONS)
    if volume_only and len(shape) != 3:
        raise Invalid(f"{kind} needs a volume")
    if kind in ("conv", "dwconv"):
        return _conv(kind, args, opts, shape)
    if kind == "convtranspose":
        return _transposed(args, opts, shape)
    if kind in ("maxpool", "avgpool"):
        return _pool(kind, args, opts, shape)
    if kind == "flatten":
        return dict(kind="flatten", shape=(math.prod(shape),))
    if kind in ("globalavgpool", "globalmaxpool"):
        return dict(kind=kind, shape=(1, 1, shape[2]))
    if kind == "fc":
        return dict(kind="fc", units=args[0], bias=opts.get("bias", True), activation=_activation(args, opts),
                    shape=(args[0],))
    if kind in ACTIVATIONS:
        return dict(kind="activation", function=kind, shape=shape)
    if kind in NORMS:
        groups = args[0] if kind == "groupnorm" else 1
        if shape[-1] % groups:
            raise Invalid("groupnorm: groups must divide the channels")
        per_group = shape[0] * shape[1] * (1 if kind == "instancenorm" else shape[2] // groups)
        if kind != "batchnorm" and per_group < 2:  # torch refuses to normalise a single value
            raise Invalid(f"{kind} of one value")
        return dict(kind=kind, groups=groups if kind == "groupnorm" else None, shape=shape)
    if kind == "dropout":
        return dict(kind="dropout", rate=args[0], shape=shape)
    if kind == "upsample":
        factor = args[0]
        return dict(kind="upsample", factor=factor, mode=opts.get("mode", "nearest"),
                    shape=(shape[0] * factor, shape[1] * factor, shape[2]))
    if kind == "zeropad":
        return _zeropad(args, opts, shape)
    raise KeyError(kind)
