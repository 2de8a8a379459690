"""The statement table: what each keyword takes and what it lowers to.

STATEMENTS says for every keyword which IR class it becomes, which positional
arguments and options it takes, with aliases (the course's `f`, `s`, `p`) and
the checker for each value (specc.kinds.values), and how its unlabelled layers are
named. The layer keywords are the kinds' own forms (specc.kinds); here are the
statements that are not layers (model, input, output, train) and the order the
table lists them in. No torch.
"""

from __future__ import annotations

from collections.abc import Callable

from ..hyperparameters import HYPERPARAMETERS, Hyper
from ..kinds import ACTIVATIONS, KEYWORD_ALIASES, Form
from ..kinds import STATEMENTS as LAYERS
from ..kinds.values import choice, count, fraction, input_dims, name, non_negative, path, positive, rate, seed

# The `train` statement's options: the hyperparameter table's names, each checked by its kind. A whole number
# (>= 0) is what the seed's checker takes; a column is a name (specc train checks it against the task's columns).
_CHECKERS: dict[str, Callable] = {"count": count, "seed": seed, "whole": seed, "column": name, "positive": positive,
                                  "fraction": fraction, "non_negative": non_negative, "rate": rate, "path": path}


def _checker(h: Hyper) -> Callable:
    return choice(*h.choices) if h.kind == "choice" else _CHECKERS[h.kind]


TRAIN_OPTIONS: dict[str, Callable] = {h.name: _checker(h) for h in HYPERPARAMETERS}

OTHERS: dict[str, Form] = {
    "model": Form("model", ("name",), ("name",), {"name": name}, {}, "model NAME"),
    "input": Form("input", ("dims",), ("dims",), {"dims": input_dims, "layout": choice("hwc", "lc", "dhwc")}, {},
                  "input HxWxC (LxC layout=lc, DxHxWxC), e.g. `input 32x32x3`"),
    # `output REF [REF ...]`: its arguments are references, resolved where expansion meets the line
    "output": Form("output", usage="output REF [REF ...], e.g. `output head1 head2`", merge=True),
    "train": Form("train", options=TRAIN_OPTIONS, usage="train batch=64 epochs=10 optimizer=adam lr=1e-3"),
}

# The layers, the statements that are not layers, then the activations.
STATEMENTS: dict[str, Form] = {**{k: f for k, f in LAYERS.items() if k not in ACTIVATIONS}, **OTHERS,
                               **{k: f for k, f in LAYERS.items() if k in ACTIVATIONS}}

__all__ = ["KEYWORD_ALIASES", "OTHERS", "STATEMENTS", "TRAIN_OPTIONS", "Form"]
