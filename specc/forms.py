"""The statement table: what each keyword takes and what it lowers to.

One table, STATEMENTS, says for every keyword which IR class it becomes,
which positional arguments and options it takes, with aliases (the course's
`f`, `s`, `p`) and the checker for each value (specc.values), and how its
unlabelled layers are named. Adding a layer kind adds one Form here. No torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import ir
from .hyperparameters import HYPERPARAMETERS, OPTIMIZERS
from .ir import ACTIVATIONS
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
    positive,
    positive_pair,
    rate,
    seed,
    unit,
)


@dataclass(frozen=True)
class Form:
    """What one keyword takes and what it lowers to: the IR class ``node`` (None for
    the statements that are not layers: model, input, train), positional names,
    options, aliases, checkers, and the default-name prefix of unlabelled layers."""

    kind: str
    node: type[ir.Layer] | None
    positional: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    options: dict[str, Callable] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    usage: str = ""
    bare_activation: bool = False  # a trailing `relu` means activation=relu
    prefix: str = ""  # unlabelled layers are named prefix1, prefix2, ... (default: the keyword)
    merge: bool = False  # the positional arguments are references to the layers merged
    fixed: dict[str, object] = field(default_factory=dict)  # IR fields the keyword itself decides


_CONV_OPTIONS = {"filters": count, "kernel": positive_pair, "stride": positive_pair, "padding": padding,
                 "dilation": positive_pair, "groups": count, "bias": boolean, "activation": activation,
                 "slope": any_float}
_POOL_OPTIONS = {"kernel": positive_pair, "stride": positive_pair, "padding": padding}
_FC_OPTIONS = {"units": count, "bias": boolean, "activation": activation, "slope": any_float}
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
    "model": Form("model", None, ("name",), ("name",), {"name": name}, {}, "model NAME"),
    "input": Form("input", None, ("dims",), ("dims",), {"dims": input_dims}, {}, "input HxWxC, e.g. `input 32x32x3`"),
    "train": Form("train", None, options=TRAIN_OPTIONS, usage="train batch=64 epochs=10 optimizer=adam lr=1e-3"),
}
for _fn in ACTIVATIONS:
    STATEMENTS[_fn] = Form("activation", ir.Activation, options={"slope": any_float} if _fn == "leaky_relu" else {},
                           usage=_fn, prefix=_fn, fixed={"function": _fn})
KEYWORD_ALIASES = {"dense": "fc", "bn": "batchnorm"}
