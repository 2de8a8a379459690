"""The statement table: what each keyword takes and what it lowers to.

One table, STATEMENTS, says for every keyword which IR class it becomes,
which positional arguments and options it takes, with aliases (the course's
`f`, `s`, `p`) and the checker for each value (specc.values), and how its
unlabelled layers are named. Adding a layer kind adds one Form here. No torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from . import ir
from .hyperparameters import HYPERPARAMETERS, OPTIMIZERS
from .ir import ACTIVATIONS, NOTHING
from .values import (
    activation,
    any_float,
    boolean,
    choice,
    count,
    fraction,
    input_dims,
    name,
    non_negative,
    padding,
    padding_pair,
    positive,
    positive_pair,
    rate,
    seed,
    unit,
)


class Form(NamedTuple):
    """What one keyword takes and what it lowers to: the IR class ``node`` (None for
    the statements that are not layers: model, input, train), positional names,
    options, aliases, checkers, and the default-name prefix of unlabelled layers."""

    kind: str
    node: type[ir.Layer] | None
    positional: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    options: Mapping[str, Callable] = NOTHING
    aliases: Mapping[str, str] = NOTHING
    usage: str = ""
    bare_activation: bool = False  # a trailing `relu` means activation=relu
    prefix: str = ""  # unlabelled layers are named prefix1, prefix2, ... (default: the keyword)
    merge: bool = False  # the positional arguments are references to the layers merged
    fixed: Mapping[str, object] = NOTHING  # IR fields the keyword itself decides


_CONV_OPTIONS = {"filters": count, "kernel": positive_pair, "stride": positive_pair, "padding": padding,
                 "dilation": positive_pair, "groups": count, "bias": boolean, "activation": activation,
                 "slope": any_float}
_POOL_OPTIONS = {"kernel": positive_pair, "stride": positive_pair, "padding": padding}
_FC_OPTIONS = {"units": count, "bias": boolean, "activation": activation, "slope": any_float}
_TRANSPOSE_OPTIONS = {**_CONV_OPTIONS, "output_padding": padding_pair}
_DW_OPTIONS = {k: v for k, v in _CONV_OPTIONS.items() if k not in ("filters", "groups")} | {"multiplier": count}
_NORM_OPTIONS = {"eps": positive, "affine": boolean}
_PAD_OPTIONS = {"padding": padding_pair, "top": seed, "bottom": seed, "left": seed, "right": seed}
_LETTERS = {"f": "kernel", "k": "kernel", "s": "stride", "p": "padding", "d": "dilation"}

# The `train` statement's options: the hyperparameter table's names, each checked by its kind.
_CHECKERS: dict[str, Callable] = {"count": count, "seed": seed, "choice": choice(*OPTIMIZERS), "positive": positive,
                                  "fraction": fraction, "non_negative": non_negative}
TRAIN_OPTIONS: dict[str, Callable] = {h.name: _CHECKERS[h.kind] for h in HYPERPARAMETERS}

STATEMENTS: dict[str, Form] = {
    "conv": Form("conv", ir.Conv, ("filters", "kernel"), ("filters", "kernel"), _CONV_OPTIONS, _LETTERS,
                 "conv FILTERS KERNEL [stride=S] [padding=P] [ACTIVATION], e.g. `conv 8 5x5 relu`", True),
    "maxpool": Form("maxpool", ir.Pool, ("kernel",), ("kernel",), _POOL_OPTIONS, _LETTERS,
                    "maxpool KERNEL [stride=S], e.g. `maxpool 2x2 stride=2`", prefix="pool", fixed={"op": "max"}),
    "avgpool": Form("avgpool", ir.Pool, ("kernel",), ("kernel",), _POOL_OPTIONS, _LETTERS,
                    "avgpool KERNEL [stride=S], e.g. `avgpool 2x2`", prefix="pool", fixed={"op": "avg"}),
    "globalavgpool": Form("globalavgpool", ir.GlobalPool, usage="globalavgpool", prefix="gpool",
                          fixed={"op": "avg"}),
    "globalmaxpool": Form("globalmaxpool", ir.GlobalPool, usage="globalmaxpool", prefix="gpool",
                          fixed={"op": "max"}),
    "flatten": Form("flatten", ir.Flatten, usage="flatten"),
    "fc": Form("fc", ir.Dense, ("units",), ("units",), _FC_OPTIONS, {}, "fc UNITS [ACTIVATION], e.g. `fc 10 softmax`",
               True),
    "batchnorm": Form("batchnorm", ir.BatchNorm, options={"eps": positive, "momentum": unit},
                      usage="batchnorm [eps=E] [momentum=M]", prefix="bn"),
    "dropout": Form("dropout", ir.Dropout, ("rate",), ("rate",), {"rate": rate}, {},
                    "dropout RATE, e.g. `dropout 0.5`"),
    "add": Form("add", ir.Add, usage="add REF [REF ...], e.g. `add shortcut`", merge=True),
    "concat": Form("concat", ir.Concat, usage="concat REF [REF ...], e.g. `concat b1 b3 b5`", merge=True),
    "multiply": Form("multiply", ir.Multiply, usage="multiply REF [REF ...], e.g. `multiply gate`", merge=True),
    "convtranspose": Form("convtranspose", ir.ConvTranspose, ("filters", "kernel"), ("filters", "kernel"),
                          _TRANSPOSE_OPTIONS, {**_LETTERS, "op": "output_padding"},
                          "convtranspose FILTERS KERNEL [stride=S] [padding=P|same] [output_padding=O], "
                          "e.g. `convtranspose 64 3x3 s=2 p=same`", True, prefix="deconv"),
    "dwconv": Form("dwconv", ir.DepthwiseConv, ("kernel",), ("kernel",), _DW_OPTIONS, _LETTERS,
                   "dwconv KERNEL [stride=S] [padding=P] [multiplier=M] [ACTIVATION], e.g. `dwconv 3 p=1 relu6`",
                   True),
    "upsample": Form("upsample", ir.Upsample, ("factor",), ("factor",),
                     {"factor": positive_pair, "mode": choice("nearest", "bilinear")}, {},
                     "upsample FACTOR [mode=nearest|bilinear], e.g. `upsample 2`", prefix="up"),
    "zeropad": Form("zeropad", ir.ZeroPad, ("padding",), ("padding",), _PAD_OPTIONS, {"p": "padding"},
                    "zeropad P (3 or 1x2: rows x columns, both sides) [top=T] [bottom=B] [left=L] [right=R], "
                    "e.g. `zeropad 3`", prefix="pad"),
    "layernorm": Form("layernorm", ir.Norm, options=_NORM_OPTIONS, usage="layernorm [eps=E] [affine=false]",
                      prefix="ln", fixed={"op": "layer"}),
    "instancenorm": Form("instancenorm", ir.Norm, options=_NORM_OPTIONS,
                         usage="instancenorm [eps=E] [affine=false]", prefix="inorm", fixed={"op": "instance"}),
    "groupnorm": Form("groupnorm", ir.Norm, ("groups",), ("groups",), {"groups": count, **_NORM_OPTIONS}, {},
                      "groupnorm GROUPS [eps=E] [affine=false], e.g. `groupnorm 8`", prefix="gn",
                      fixed={"op": "group"}),
    "model": Form("model", None, ("name",), ("name",), {"name": name}, {}, "model NAME"),
    "input": Form("input", None, ("dims",), ("dims",), {"dims": input_dims, "layout": choice("hwc", "lc", "dhwc")}, {},
                   "input HxWxC (LxC layout=lc, DxHxWxC), e.g. `input 32x32x3`"),
    "train": Form("train", None, options=TRAIN_OPTIONS, usage="train batch=64 epochs=10 optimizer=adam lr=1e-3"),
}
for _fn in ACTIVATIONS:
    STATEMENTS[_fn] = Form("activation", ir.Activation, options={"slope": any_float} if _fn == "leaky_relu" else {},
                           usage=_fn, prefix=_fn, fixed={"function": _fn})
KEYWORD_ALIASES = {"dense": "fc", "bn": "batchnorm", "deconv": "convtranspose", "swish": "silu"}
