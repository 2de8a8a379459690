"""The library verbs that need torch: ``specc.train``, ``specc.export``, ``specc.load``.

Thin wrappers over what the commands call — :func:`specc.training.train`,
:func:`specc.exporting.export`, :func:`specc.runtime.checkpoint.load_model` — shaped
for a notebook: a spec may be a path, its text or an Analysis; data may be a
source name, a path, or arrays in the course's layout; hyperparameters are
keyword arguments named as the spec's `train` statement names them.
An argument of the wrong type (`epochs="2"`, `threads=1.5`) is a TypeError
naming it, raised before anything runs; a wrong value is a SpeccError.
Imported lazily by ``specc/__init__.py``; torch loads only when a verb is called.
Beside them: predict (`specc predict`'s models and predictions), arrays
(``specc.predict`` on arrays; not here, where the name is the module's), answers (its
typed results, every task's) and evaluate (`specc val`).
"""

from __future__ import annotations

import numbers
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis import Analysis
from ..diagnostics import did_you_mean
from ..errors import SpeccError
from ..hyperparameters import HYPERPARAMETERS
from ..source import Spec, is_path, read_ok, typed_spec, wrong_type

if TYPE_CHECKING:
    import torch

    from ..exporting import ExportResult
    from ..training import Result

# Arrays: (x, y) or (x, y, x_val, y_val); anything np.asarray accepts (x a dict of them by input label
# for a spec with several inputs).
Data = str | os.PathLike | tuple | list
RunLike = str | os.PathLike


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)  # numpy's ints too; True is no count


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# What each keyword argument takes: a test of the value, and the words for the TypeError.
KINDS = {"int": (_is_int, "an int"), "number": (_is_number, "a number (int or float)"),
         "bool": (lambda v: isinstance(v, bool), "True or False"), "str": (lambda v: isinstance(v, str), "a str"),
         "path": (lambda v: isinstance(v, (str, os.PathLike)), "a path (str or os.PathLike)"),
         "data": (lambda v: isinstance(v, (str, os.PathLike, tuple, list)),
                  "a source name or path (str or os.PathLike), or arrays (x, y) or (x, y, x_val, y_val)")}
# the others are numbers
_HYPER_KINDS = {"count": "int", "seed": "int", "whole": "int", "choice": "str", "column": "str", "path": "path"}
TRAIN_KINDS = {h.name: _HYPER_KINDS.get(h.kind, "number") for h in HYPERPARAMETERS} | {
    "data": "data", "out": "path", "resume": "path", "device": "str", "amp": "bool", "channels_last": "bool",
    "resize": "bool", "quiet": "bool", "threads": "int", "partial": "bool"}
EXPORT_KINDS = {"output": "path", "batch": "int", "opset": "int", "logits": "bool", "seed": "int", "spec": "path",
                "atol": "number"}
OPTIONAL = {"data", "out", "resume", "resize", "threads", "batch", "seed", "spec", *(h.name for h in HYPERPARAMETERS)}


def _check_types(verb: str, values: dict[str, Any], kinds: dict[str, str]) -> None:
    """TypeError for the first argument whose value is not of its kind (None where None means "not given")."""
    for name, value in values.items():
        kind = kinds.get(name)
        if kind is None or (value is None and name in OPTIONAL):
            continue
        test, takes = KINDS[kind]
        if not test(value):
            raise wrong_type(f"specc.{verb}() argument {name!r}", value, takes)


def train(spec: Spec | Analysis, data: Data | None = None, *, out: str | os.PathLike | None = None,
          resume: str | os.PathLike | None = None, device: str = "auto", amp: bool = True,
          channels_last: bool = True, resize: bool | None = None, quiet: bool = False,
          threads: int | None = None, partial: bool = False, **hyperparameters: Any) -> Result:
    """Train a spec as `specc train` does and return the run's Result (``.run_dir``, ``.history``, ...).

    ``data``: `digits`, `synthetic[:N]`, an .npz/.h5 file, a folder of class
    folders, or arrays ``(x, y)`` / ``(x, y, x_val, y_val)`` with images
    ``(m, H, W, C)`` uint8 (divided by 255) or float (used as is) and labels
    ``(m,)`` or ``(1, m)``; for a spec with several inputs, x (and x_val) a dict
    of arrays keyed by the input labels. ``hyperparameters``: batch, epochs,
    optimizer, lr, beta, beta1, beta2, eps, decay, schedule, warmup, step_size,
    gamma, lr_patience, patience, monitor, min_delta, l2, seed, val, droppath,
    init (override the spec's `train` line; ``init`` a weights file, relative to
    the working directory, and ``partial=True`` as --partial). Raises SpeccError
    for a mistake in the spec, data or options.
    """
    from ..training import Request
    from ..training import train as run
    from ..training.sources import lent

    _refuse_unknown("train", hyperparameters, tuple(h.name for h in HYPERPARAMETERS))
    _check_types("train", {"data": data, "out": out, "resume": resume, "device": device, "amp": amp,
                           "channels_last": channels_last, "resize": resize, "quiet": quiet, "threads": threads,
                           "partial": partial, **hyperparameters}, TRAIN_KINDS)
    if hyperparameters.get("init") is not None:
        hyperparameters["init"] = os.fspath(hyperparameters["init"])
    if not isinstance(spec, Analysis):
        spec = typed_spec(spec, "specc.train() argument 'spec'")
    if data is None and resume is None:
        raise SpeccError("specc.train needs data: `digits`, `synthetic`, an .npz/.h5 file, a folder of class "
                         "folders, or arrays (x, y) / (x, y, x_val, y_val)", 2)
    with _spec_file(spec) as path, (lent(data) if isinstance(data, (tuple, list)) else nullcontext(data)) as source:
        request = Request(path, None if source is None else os.fspath(source), _path(out), _path(resume),
                          dict(hyperparameters), device, amp, channels_last, resize, quiet, threads, partial)
        return run(request)


def export(source: RunLike | Result, output: str | os.PathLike, **options: Any) -> ExportResult:
    """Export a run directory, checkpoint, spec file or a train Result to one verified .onnx file.

    ``options`` are :class:`specc.exporting.ExportOptions`' fields: batch, opset,
    logits, seed, spec, atol. Nothing is written unless every check passes.
    """
    from dataclasses import fields

    from ..exporting import ExportOptions
    from ..exporting import export as run

    _refuse_unknown("export", options, tuple(f.name for f in fields(ExportOptions)))
    _check_types("export", {"output": output, **options}, EXPORT_KINDS)
    if options.get("spec") is not None:
        options["spec"] = Path(options["spec"])
    return run(_run_dir(source, "specc.export() argument 'source'"), Path(output), ExportOptions(**options))


def load(run: RunLike | Result) -> torch.nn.Module:
    """The trained module of a run directory (its best checkpoint), a checkpoint file or a Result, in eval mode."""
    from ..runtime.checkpoint import load_model

    module, _ = load_model(_run_dir(run, "specc.load() argument 'run'"))
    return module


def _refuse_unknown(verb: str, given: dict[str, Any], known: tuple[str, ...]) -> None:
    for name in given:
        if name not in known:
            hint = did_you_mean(name, known) or f"it takes: {', '.join(known)}"
            raise TypeError(f"specc.{verb}() got an unknown keyword argument {name!r}; {hint}")


def _path(value: str | os.PathLike | None) -> Path | None:
    return None if value is None else Path(value)


def _run_dir(run: Any, argument: str) -> Path:
    """A train Result stands for its run directory."""
    run_dir = getattr(run, "run_dir", None)
    if run_dir is None and not isinstance(run, (str, os.PathLike)):
        raise wrong_type(argument, run, "a run directory or a file (str or os.PathLike), or a train Result")
    return Path(run_dir) if run_dir is not None else Path(run)


def _is_own_file(analysis: Analysis) -> bool:
    """Whether the Analysis was read from a file that still holds exactly its text."""
    try:
        return Path(analysis.path).read_text(encoding="utf-8") == analysis.source
    except (OSError, UnicodeDecodeError):  # `<string>`, a removed file, not text: write it out instead
        return False


@contextmanager
def _spec_file(spec: Spec | Analysis) -> Iterator[Path]:
    """A file holding the spec: the user's own file, else a temporary `<model>.cnn` (the run keeps a copy)."""
    if isinstance(spec, Analysis):
        analysis = spec
        if _is_own_file(spec):
            yield Path(spec.path)
            return
    elif is_path(spec):
        yield Path(os.fspath(spec))
        return
    else:
        analysis = read_ok(spec, refusal="not training")
    with tempfile.TemporaryDirectory(prefix="specc-") as folder:
        # Named after the model, so the run is named as `specc.check(text)` names the model.
        path = Path(folder) / f"{analysis.model.name if analysis.model else 'model'}.cnn"
        path.write_text(analysis.source, encoding="utf-8")
        yield path
