"""Fit loaded data to a spec and split it: the checks that run before any training.

The data's shape and class count are compared with the spec's input and output
(errors name both, with the spec's line); images become torch's ``(N, C, H, W)``
float32 tensors, labels int64. When the source has no validation set, a fixed
share is held out by a permutation drawn from the seed, so the split is the
same on every run and every process.

A spec with several inputs gets one tensor per input, in the spec's order
(a tuple where one input has a tensor), each checked against its input's
shape, every one with as many samples as there are labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import SpeccError
from ..numbers import dims
from ..runtime.samples import Entry, refuse_non_finite
from ..runtime.store import Stored
from .inputs import Inputs
from .sources import LENT, Arrays, Data, Want, load
from .specio import SpecIO

if TYPE_CHECKING:
    from .tasks import Task


@dataclass(frozen=True)
class Split:
    x: Inputs  # (N, C, H, W) or (N, F), float32; a tuple of such for several inputs
    y: torch.Tensor  # the task's targets: (N,) int64 classes, (N, H, W) int64 masks, (N, K) float32 values
    x_val: Inputs
    y_val: torch.Tensor
    class_names: list[str] | None
    scaling: str
    held_out: str  # how the validation set was chosen
    scalings: dict[str, str] | None = None  # several inputs: each one's scaling, by label


def _fit_shape(x: np.ndarray, io: SpecIO, what: str, entry: Entry | None = None) -> np.ndarray:
    """(N, H, W[, C]) or (N, F) as the spec wants it (``entry``: one of several inputs), in torch layout."""
    shape, line = (entry.shape, entry.line) if entry else (io.shape, io.input_line)
    if x.ndim == 3 and len(shape) == 3:
        x = x[..., None]  # grayscale without a channel axis
    if len(shape) == 1 and x.ndim >= 2 and int(np.prod(x.shape[1:])) == shape[0]:
        return x.reshape(len(x), -1)  # images flattened in H, W, C order, as the course's X.reshape(m, -1)
    if tuple(x.shape[1:]) != shape:
        kind = {4: "images are", 2: "vectors are"}.get(x.ndim, f"samples are {x.ndim - 1}-dimensional,")
        spec_input = f"input {entry.name}" if entry else "input"
        raise SpeccError(f"{what} {kind} {dims(x.shape[1:])} but the spec's {spec_input} is {dims(shape)} "
                         f"(line {line})")
    # Channels last to channels first: NHWC -> NCHW, NLC -> NCL, NDHWC -> NCDHW; a vector stays.
    return np.moveaxis(x, -1, 1) if x.ndim >= 3 else x


def _check_targets(data: Data, task: Task) -> tuple[np.ndarray, np.ndarray | None]:
    """The task's targets of the training and validation parts, checked (spec-tasks §1)."""
    what = lambda key: key if data.where in (LENT, "data") else f"{data.where} {key}"  # noqa: E731
    y = task.targets(data.y, what("y"))
    y_val = task.targets(data.y_val, what("y_val")) if data.y_val is not None else None
    task.check_targets([y] + ([y_val] if y_val is not None else []), data.class_names)
    return y, y_val


def _classify(io: SpecIO) -> Task:
    from .tasks.classify import Classify

    return Classify(io)


def _held_out(n: int, val: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(max(1, round(val * n)), n - 1)
    return order[n_val:], order[:n_val]


def _check_samples(x: np.ndarray, y: np.ndarray, what: str) -> None:
    """One sample per label, each an array, every value finite (NaN would pass for divergence later)."""
    if x.ndim < 2:
        raise SpeccError(f"the {what} has shape {x.shape}, not one sample per row: expected N×H×W×C, "
                         f"N×H×W or N×F")
    if len(x) != len(y):
        raise SpeccError(f"the {what} has {len(x)} samples but {len(y)} labels")
    refuse_non_finite(x, f"the {what}", "clean them out before training")


def fit(data: Data, io: SpecIO, val: float, seed: int, task: Task | None = None) -> Split:
    """Check ``data`` against the spec and the task (default: classify) and return train/validation tensors."""
    task = task or _classify(io)
    if isinstance(data.x, Stored):  # a folder too big for memory, in the on-disk cache
        if not task.draws_pairs:
            return _fit_stored(data, data.x, val, seed, task)
        data = _read_stored(data)  # a pair network's pairs are drawn from the images: held in memory
    if (io.inputs and not task.draws_pairs) or isinstance(data.x, dict):
        return _fit_inputs(data, io, val, seed, task)
    assert isinstance(data.x, np.ndarray)  # one input: every source gives one array (sources.Data)
    y_all, y_given = _check_targets(data, task)
    _check_samples(data.x, y_all, "data")
    if len(data.x) < 2:
        raise SpeccError(f"the data has {len(data.x)} sample(s); training needs at least 2")
    one = io.inputs[0] if io.inputs else None  # a pair network: both inputs take this shape
    x = _fit_shape(data.x, io, "data", one)
    if data.x_val is not None:
        assert y_given is not None  # every source gives both or neither (specc.training.sources)
        assert isinstance(data.x_val, np.ndarray)  # as data.x
        _check_samples(data.x_val, y_given, "validation data")
        if not len(data.x_val):
            raise SpeccError("the validation set is empty; give it samples, or leave it out to hold out "
                             "--val of the data")
        x_val, y_val, held = _fit_shape(data.x_val, io, "validation", one), y_given, "the source's validation set"
        x_train, y_train = x, y_all
    else:
        train_idx, val_idx = _held_out(len(x), val, seed)
        x_train, y_train, x_val, y_val = x[train_idx], y_all[train_idx], x[val_idx], y_all[val_idx]
        held = f"{val:g} of the data, drawn with seed {seed}"
    x_train, y_train = task.arrange(x_train, y_train, seed, "training samples")
    x_val, y_val = task.arrange(x_val, y_val, seed + 1, f"validation samples ({held})")
    tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a)).float()  # noqa: E731
    xs = lambda a: tuple(map(tensor, a)) if isinstance(a, tuple) else tensor(a)  # noqa: E731
    target = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(task.target_dtype)  # noqa: E731
    return Split(xs(x_train), target(y_train), xs(x_val), target(y_val), data.class_names, data.scaling, held)


def _fit_stored(data: Data, x: Stored, val: float, seed: int, task: Task) -> Split:
    """fit for images in the on-disk cache: the same checks and split, the images left on disk (their
    pixels, uint8 / 255, are finite; the cache was decoded at the spec's shape)."""
    y_all, y_given = _check_targets(data, task)
    if len(x) < 2:
        raise SpeccError(f"the data has {len(x)} sample(s); training needs at least 2")
    if data.x_val is not None:
        assert isinstance(data.x_val, Stored) and y_given is not None  # sources.folder reads both so
        x_train, y_train, x_val, y_val = x, y_all, data.x_val, y_given
        held = "the source's validation set"
    else:
        train_idx, val_idx = _held_out(len(x), val, seed)
        x_train, y_train, x_val, y_val = x.rows(train_idx), y_all[train_idx], x.rows(val_idx), y_all[val_idx]
        held = f"{val:g} of the data, drawn with seed {seed}"
    target = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(task.target_dtype)  # noqa: E731
    return Split(x_train, target(y_train), x_val, target(y_val), data.class_names, data.scaling, held)


def _read_stored(data: Data) -> Data:
    """The cache's images read into memory, (N, H, W, C) float32 as a folder held in memory gives them."""
    read = lambda x: x.array() if isinstance(x, Stored) else x  # noqa: E731
    return replace(data, x=read(data.x), x_val=read(data.x_val))


def _fit_inputs(data: Data, io: SpecIO, val: float, seed: int, task: Task) -> Split:
    """fit for a spec with several inputs: one array per input, by label, each checked against its line."""
    y_all, y_given = _check_targets(data, task)
    data = Data(data.x, y_all, data.x_val, y_given, data.class_names, data.scaling, data.scalings, data.where)
    assert not isinstance(data.x, Stored) and not isinstance(data.x_val, Stored)  # fit read them (one input)
    x = _input_arrays(data.x, data.y, io, data.where, "")
    if len(data.y) < 2:
        raise SpeccError(f"the data has {len(data.y)} sample(s); training needs at least 2")
    if data.x_val is not None:
        assert data.y_val is not None  # every source gives both or neither (specc.training.sources)
        if not len(data.y_val):
            raise SpeccError("the validation set is empty; give it samples, or leave it out to hold out "
                             "--val of the data")
        x_val, y_val = _input_arrays(data.x_val, data.y_val, io, data.where, "_val"), data.y_val
        x_train, y_train, held = x, data.y, "the source's validation set"
    else:
        train_idx, val_idx = _held_out(len(data.y), val, seed)
        x_train, y_train = [a[train_idx] for a in x], data.y[train_idx]
        x_val, y_val = [a[val_idx] for a in x], data.y[val_idx]
        held = f"{val:g} of the data, drawn with seed {seed}"
    tensors = lambda arrays: tuple(torch.from_numpy(np.ascontiguousarray(a)).float() for a in arrays)  # noqa: E731
    target = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(task.target_dtype)  # noqa: E731
    return Split(tensors(x_train), target(y_train), tensors(x_val), target(y_val),
                 data.class_names, data.scaling, held, data.scalings)


def _input_arrays(x: Arrays, y: np.ndarray, io: SpecIO, where: str, suffix: str) -> list[np.ndarray]:
    """The arrays of every input, in the spec's order, in torch layout: one sample per label each."""
    names = ", ".join(e.name for e in io.inputs)
    if not io.inputs:
        raise SpeccError(f"{where} give x as a dict of arrays ({', '.join(map(str, x))}), but the spec has one "
                         f"input (line {io.input_line}); give x as one array")
    if not isinstance(x, dict):
        keyed = ", ".join(f"{e.name!r}: …" for e in io.inputs)
        raise SpeccError(f"{where} give x as one array, but the spec has {len(io.inputs)} inputs ({names}); give "
                         f"x as a dict of arrays keyed by the input labels, {{{keyed}}}")
    extra = [k for k in x if k not in {e.name for e in io.inputs}]
    if extra:
        raise SpeccError(f"{where} x{suffix} has an array for {', '.join(map(repr, extra))}, which is not one of "
                         f"the spec's inputs ({names})")
    arrays = []
    for entry in io.inputs:
        key = entry.name + suffix
        if entry.name not in x:
            raise SpeccError(f"{where} x{suffix} has no array for the spec's input {entry.name} (line {entry.line})")
        what = f"x{suffix}[{entry.name!r}]" if where == LENT else f"{where} {key}"
        _check_input(x[entry.name], y, what, entry)
        arrays.append(_fit_shape(x[entry.name], io, what, entry))
    return arrays


def _check_input(x: np.ndarray, y: np.ndarray, what: str, entry: Entry) -> None:
    """One input's array: one sample per label, every value finite; the messages name the input's line."""
    if x.ndim < 2:
        raise SpeccError(f"{what} has shape {x.shape}, not one sample per row: expected N×H×W×C, N×H×W or N×F "
                         f"for the spec's input {entry.name} (line {entry.line})")
    if len(x) != len(y):
        raise SpeccError(f"{what} has {len(x)} samples but there are {len(y)} labels; every input (here "
                         f"{entry.name}, line {entry.line}) needs one sample per label")
    refuse_non_finite(x, what, "clean them out before training")


def prepare(source: str, io: SpecIO, val: float, seed: int, resize: bool = False, task: Task | None = None) -> Split:
    """Load ``--data`` for a spec and split it, checking everything first."""
    return fit(load(source, want(io, seed, resize, task)), io, val, seed, task)


def want(io: SpecIO, seed: int, resize: bool = False, task: Task | None = None) -> Want:
    """What a source is asked for: the spec's input(s), classes and the task's targets. A pair network
    (embed) reads one image per sample: its pairs are drawn from them."""
    name = task.name if task is not None else "classify"
    if task is not None and task.draws_pairs:
        return Want(tuple(io.inputs[0].shape), 2, seed, resize, (), name)
    return Want(io.shape, io.classes, seed, resize, io.inputs, name, io.output, io.output_line)
