"""``specc.predict(model, arrays)``: a trained model on arrays in the course's layout, as `specc predict`
runs it on an .npz.

Arrays are (N, H, W, C) images, (N, H, W) grayscale, (N, F) vectors, or one sample
without the batch axis; uint8 is divided by 255 and float used as is, as `specc
train` and `specc predict` scale an .npz's arrays (:func:`specc.runtime.samples.scaled`).
A model of several inputs takes a dict of arrays by input label; an encoder
(embed) compares pairs given as a tuple ``(a, b)`` of two batches of one size.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import SpeccError
from ..runtime.samples import Sample, fitted, scaled
from ..source import wrong_type
from .answers import Answer, answer
from .predict import Loaded, load


def predict(model: Any, x: Any, *, top: int = 3) -> Answer:
    """What a trained model says about arrays, by its task (spec-tasks §1), as `specc predict` says it.

    ``model``: a run directory (its best.pt), a checkpoint, an .onnx file or a train Result. ``x``: arrays in
    the course's layout, (N, H, W, C) (uint8 divided by 255, float used as is); a dict of them by input
    label for a model of several inputs; for an encoder, a tuple ``(a, b)`` of two batches compares pairs.
    Returns a Classification (``probabilities``, ``top``), Segmentation (``masks`` (N, H, W), ``fractions``),
    Regression (``values`` (N, K)), Embeddings (``embeddings``, L2-normalised) or Verification (``scores``,
    ``same`` at the run's ``threshold``); each has ``as_dict()``.
    """
    if not isinstance(top, int) or isinstance(top, bool):
        raise wrong_type("specc.predict() argument 'top'", top, "an int")
    source = getattr(model, "run_dir", model)
    if not isinstance(source, (str, os.PathLike)):
        raise wrong_type("specc.predict() argument 'model'", model,
                         "a run directory, a checkpoint or an .onnx file (str or os.PathLike), or a train Result")
    loaded = load(os.fspath(source))
    if isinstance(x, tuple):
        if loaded.task != "embed" or loaded.pair:
            raise SpeccError(f"a tuple (a, b) gives pairs to an encoder (embed); '{source}' is a {loaded.task} "
                             f"model{' of two inputs: give a dict of arrays by input label' if loaded.pair else ''}"
                             f"{'; give one array' if not loaded.pair else ''}", 2)
        if len(x) != 2:
            raise SpeccError(f"pairs are a tuple (a, b) of two batches; got {len(x)}", 2)
        a, b = (samples(loaded, part, name) for part, name in zip(x, "ab"))
        if len(a) != len(b):
            raise SpeccError(f"pairs (a, b) need as many samples in a as in b; a has {len(a)}, b {len(b)}", 2)
        return answer(loaded, [s for both in zip(a, b) for s in both], top, pair=True)
    return answer(loaded, samples(loaded, x, "x"), top)


def samples(model: Loaded, x: Any, what: str) -> list[Sample]:
    """The samples of ``x``, scaled and checked against the model's input(s), named `x[0]`, `x[1]`, ..."""
    if model.inputs:
        if not isinstance(x, Mapping):
            labels = ", ".join(e.name for e in model.inputs)
            raise SpeccError(f"the model has {len(model.inputs)} inputs ({labels}): give a dict of arrays by input "
                             f"label, got {type(x).__name__}", 2)
        missing = [e.name for e in model.inputs if e.name not in x]
        if missing:
            raise SpeccError(f"{what} has no array for the input {missing[0]}; it has: "
                             f"{', '.join(map(str, x)) or 'nothing'}", 2)
        parts = [fitted(scaled(np.asarray(x[e.name]), f"{what}[{e.name!r}]")[0], e.shape, f"{what}[{e.name!r}]",
                         f"the spec's input {e.name} (line {e.line})") for e in model.inputs]
        if len({len(p) for p in parts}) > 1:
            counts = ", ".join(f"{e.name} {len(p)}" for e, p in zip(model.inputs, parts))
            raise SpeccError(f"every input needs one array per sample; {what} has {counts}", 2)
        return [Sample(f"{what}[{i}]", tuple(p[i] for p in parts)) for i in range(len(parts[0]))]
    if isinstance(x, Mapping):
        raise SpeccError(f"the model has one input: give one array, not a dict ({', '.join(map(str, x))})", 2)
    found = fitted(scaled(np.asarray(x), what)[0], model.shape, what, "the spec's input")
    return [Sample(f"{what}[{i}]", sample) for i, sample in enumerate(found)]
