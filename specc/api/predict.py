"""`specc predict` as a library: load a trained model, run it on samples, rank the classes.

    RUN_DIR | CHECKPOINT ─checkpoint.load_model→ torch module ┐
    FILE.onnx ─onnxruntime + specc's metadata─────────────────┴→ Loaded ─probabilities→ top-k

A checkpoint is read only through :mod:`specc.runtime.checkpoint` (weights_only); an
ONNX file through onnxruntime, its input shape, class names and scaling taken
from the metadata `specc export` writes (docs/export.md). Probabilities are
the softmax of the logits (or the sigmoid of a single output: two classes).
A model with several inputs scores samples of one array per input, in the
spec's order (runtime.samples.read_inputs reads them from .npz files).

That is a classifier's; a model of another task (spec-tasks §1: the run's
recorded task, or an export's metadata `task`) gives its own output through
``Loaded.outputs``, which :mod:`specc.api.answers` turns into masks, values,
embeddings or verdicts.
"""

from __future__ import annotations

import json
import math
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

from ..errors import SpeccError, first_line
from ..escape import printable_line
from ..exporting.task import TASKS, class_scores, is_pair, is_segmenter_shape, read_from_spec, recorded, threshold
from ..files import kind, stat_of
from ..kinds.geometry import is_known
from ..numbers import dims
from ..runtime.samples import Entry, Sample

if TYPE_CHECKING:
    import torch

    from ..analysis import Analysis


class _Generated(Protocol):
    """What a checkpoint's module is: the one specc generates from its spec (specc.codegen.module_text)."""

    final_activation: str | None

    def logits(self, *x: torch.Tensor) -> torch.Tensor: ...

_JSON_KINDS = {dict: "an object", str: "a string", int: "a number", float: "a number", bool: "true or false"}
CHUNK = 256  # samples per forward pass: bounded memory for a folder of thousands of images


@dataclass(frozen=True)
class Loaded:
    """A trained model, loaded from a checkpoint or an ONNX file, ready to score samples in the spec's layout."""

    name: str
    shape: tuple[int, ...]  # the spec's input: (H, W, C) or (F,)
    class_names: list[str] | None
    scaling: str  # what the run recorded about its data's scaling
    source: str  # where the weights come from, in words
    scores: Callable[..., np.ndarray]  # (N, *torch input) float32, one per input -> probabilities (N, K)
    inputs: tuple[Entry, ...] = ()  # every input when the spec has several; () for one
    scalings: dict[str, str] | None = None  # several inputs: each one's scaling in training, where recorded
    task: str = "classify"  # spec-tasks §1: classify, segment, regress or embed
    # The task's output, (N, *torch input) per input -> segment (N, K, H, W) class scores; regress (N, K)
    # values; embed (N, D) encodings (not normalised), or a pair network's (N,) probabilities
    outputs: Callable[..., np.ndarray] | None = None
    threshold: float | None = None  # embed: the run's verification threshold (a distance, or a probability)
    pair: bool = False  # embed: a two-input pair network (its output a probability), not an encoder

    def name_of(self, index: int) -> str:
        names = self.class_names
        return names[index] if names and index < len(names) else str(index)


@dataclass(frozen=True)
class Prediction:
    input: str
    top: list[tuple[int, str, float]] = field(default_factory=list)  # (class, name, probability), best first

    def as_dict(self) -> dict:
        return {"input": self.input,
                "top": [{"class": c, "name": n, "probability": p} for c, n, p in self.top]}


def torch_layout(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, C, H, W); vectors stay as they are."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.ndim == 4 else x


def probabilities(values: np.ndarray, final: str | None, logits: bool) -> np.ndarray:
    """Class probabilities from a model's output; a single sigmoid unit becomes two classes."""
    values = values.reshape(len(values), -1).astype(np.float64)
    if values.shape[1] == 1 and final == "sigmoid":
        p = 1 / (1 + np.exp(-values[:, 0])) if logits else values[:, 0]
        return np.stack([1 - p, p], axis=1)
    if not logits:
        return values
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def load(path: str | Path) -> Loaded:
    """A run directory (its best.pt, else last.pt), a checkpoint file or an .onnx file."""
    path = Path(path)
    found = stat_of(path)
    if path.suffix.lower() == ".onnx" and found is not None and not stat.S_ISDIR(found.st_mode):
        if not stat.S_ISREG(found.st_mode):  # reading a FIFO would wait forever
            raise SpeccError(f"cannot read '{path}': it is {kind(found)}, not an .onnx file", 2)
        return _from_onnx(path)
    return _from_checkpoint(path)


def _input(analysis: Analysis) -> tuple[int, ...]:
    """The input shape of a spec checked_spec accepted: without errors, it has a model and
    knows every dimension (E110 refuses a spec without an `input`)."""
    shape = analysis.model.input if analysis.model is not None else None
    assert is_known(shape)
    return tuple(shape)


def _inputs(analysis: Analysis) -> tuple[Entry, ...]:
    """Every input of a spec with several (each known, as _input's); () for one."""
    model = analysis.checked_model  # checked without errors
    return tuple(Entry(i.name, tuple(i.shape or ()), i.span.line) for i in model.inputs) \
        if len(model.inputs) > 1 else ()


def _from_checkpoint(path: Path) -> Loaded:
    import torch

    from ..exporting.source import recorded_scaling
    from ..runtime.checkpoint import load_checkpoint_model, resolve_checkpoint

    file = resolve_checkpoint(path)
    built, meta, analysis = load_checkpoint_model(file)
    module = cast(_Generated, built)  # load_checkpoint_model types it as any nn.Module
    final = module.final_activation
    task = recorded(meta.config, analysis) or "classify"

    @torch.no_grad()
    def scores(*x: np.ndarray) -> np.ndarray:
        return probabilities(module.logits(*map(torch.from_numpy, x)).numpy(), final, logits=True)

    @torch.no_grad()
    def outputs(*x: np.ndarray) -> np.ndarray:  # the module's forward, as the task's loss and metrics read it
        found = cast(Callable[..., "torch.Tensor"], module)(*map(torch.from_numpy, x)).numpy()
        return found.reshape(len(found)) if is_pair(analysis) else found

    names = _class_names(meta.class_names, _classes(analysis), file, "its class_names") \
        if task in ("classify", "segment") else None
    return Loaded(meta.model_name, _input(analysis), names, recorded_scaling(meta.config),
                  f"checkpoint {file} (epoch {meta.epoch})", scores, _inputs(analysis), _scalings(meta.config),
                  task, outputs, threshold(meta.metrics) if task == "embed" else None, is_pair(analysis))


def _scalings(config: dict) -> dict[str, str] | None:
    """Each input's scaling that a run with several inputs recorded (config.json's data.input_scaling)."""
    data = config.get("data")
    found = data.get("input_scaling") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None


def _from_onnx(path: Path) -> Loaded:
    from ..runtime.embedded import checked_spec

    session = _session(path)
    meta = session.get_modelmeta().custom_metadata_map
    if "spec" not in meta:
        raise SpeccError(f"'{path}' has no specc metadata (no `spec` entry); export it with `specc export`")
    name = meta.get("model_name") or path.stem
    analysis = checked_spec(meta["spec"], path, f"{name}.cnn")
    final = analysis.final_activation
    kind = _output_kind(meta.get("output", ""), path)
    logits = kind == "logits" or final is None
    task = _task(meta, analysis, path)
    entries = _entries(session, analysis, path)
    first = entries[0]
    fixed = first.shape[0] if isinstance(first.shape[0], int) else None

    def run(*x: np.ndarray) -> np.ndarray:
        try:
            return session.run(None, {entry.name: part for entry, part in zip(entries, x)})[0]
        except Exception as exc:  # noqa: BLE001 -- onnxruntime raises its own untyped errors
            raise SpeccError(f"onnxruntime cannot run '{path}': {first_line(exc)}") from exc

    def batched(*x: np.ndarray) -> np.ndarray:
        n = len(x[0])
        if fixed is None or n == fixed:
            return run(*x)
        pad = lambda a, i: np.concatenate([a[i:i + fixed], np.zeros((max(0, i + fixed - n), *a.shape[1:]), a.dtype)])  # noqa: E731
        parts = [run(*(pad(a, i) for a in x)) for i in range(0, n, fixed)]  # a fixed --batch export: pad the last
        return np.concatenate(parts)[:n]

    def scores(*x: np.ndarray) -> np.ndarray:
        return probabilities(batched(*x), final, logits)

    def outputs(*x: np.ndarray) -> np.ndarray:  # as the spec's forward gives it, whatever was exported
        found = batched(*x)
        found = final_activation(found, final) if kind == "logits" and task != "segment" else found
        return found.reshape(len(found)) if is_pair(analysis) else found

    names = _class_names(_json_list(meta, "class_names", path), _classes(analysis), path,
                         "its metadata `class_names`") if task in ("classify", "segment") else None
    return Loaded(name, _input(analysis), names, meta.get("input_scaling", "uint8 / 255"),
                  f"ONNX file {path}", scores, _inputs(analysis), None, task, outputs,
                  _threshold(meta, path) if task == "embed" else None, is_pair(analysis))


def _task(meta: dict[str, str], analysis: Analysis, path: Path) -> str:
    """The metadata's `task`; a file exported before tasks: the spec's, read as training reads it."""
    found = meta.get("task")
    if found is None:
        task = read_from_spec(analysis)
        if task is None:
            raise SpeccError(f"'{path}' records no task (metadata `task`) and its spec's output "
                             f"{dims(analysis.output)} does not say one; export it again with `specc export`")
        return task
    if found not in TASKS:
        raise SpeccError(f"'{path}': its metadata `task` is {found[:40]!r}; specc knows {', '.join(TASKS)}")
    return found


def _threshold(meta: dict[str, str], path: Path) -> float | None:
    """An embedding's verification threshold from the metadata (None where it records none)."""
    if "threshold" not in meta:
        return None
    try:
        found = float(meta["threshold"])
    except ValueError:
        found = math.nan
    if not math.isfinite(found):
        raise SpeccError(f"'{path}': its metadata `threshold` is {meta['threshold'][:40]!r}, not a number")
    return found


def final_activation(values: np.ndarray, final: str | None) -> np.ndarray:
    """The spec's final softmax (over dim 1) or sigmoid, applied to exported logits."""
    values = values.astype(np.float64)
    if final == "sigmoid":
        return 1 / (1 + np.exp(-values))
    if final == "softmax":
        shifted = np.exp(values - values.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return values


def _session(path: Path):
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 -- onnxruntime raises its own untyped errors for bad files
        raise SpeccError(f"cannot load '{path}' with onnxruntime: {first_line(exc)}") from exc


def _output_kind(output: str, path: Path) -> str:
    """"probabilities", "logits", "values" or "embeddings", as the metadata's `output` says
    (`probabilities: softmax over dim 1`)."""
    found = output.partition(":")[0]
    if found in ("values", "embeddings"):  # a regressor's or an encoder's output (specc.exporting.task)
        return found
    if found == "outputs":  # a network of several outputs (spec-io §2): not a classifier predict can read
        raise SpeccError(f"'{path}' returns several outputs ({output.partition(':')[2].split(', each')[0].strip()}); "
                         f"specc predict reads a classifier of one output")
    if found not in ("probabilities", "logits"):
        raise SpeccError(f"'{path}': its metadata `output` is {output[:80]!r}; specc export writes "
                         f"'probabilities: ...', 'logits: ...', 'values: ...' or 'embeddings: ...'")
    return found


def _entries(session, analysis, path: Path) -> list:
    """The graph's inputs, refused unless they take the spec's inputs (torch layout) after the batch axis."""
    inputs = session.get_inputs()
    if len(analysis.model.inputs) < 2:
        shape = analysis.model.input
        want = [shape[-1], *shape[:-1]] if len(shape) > 1 else list(shape)
        if len(inputs) != 1 or list(inputs[0].shape[1:]) != want:
            found = ", ".join(f"{i.name} {i.shape}" for i in inputs) or "none"
            raise SpeccError(f"'{path}': the graph's inputs ({found}) do not fit its spec's input "
                             f"{dims(shape)} (one input of shape [batch, {', '.join(map(str, want))}])")
        return inputs
    wants = [(i.name, [i.shape[-1], *i.shape[:-1]] if len(i.shape) > 1 else list(i.shape))
             for i in analysis.model.inputs]
    if [(i.name, list(i.shape[1:])) for i in inputs] != wants:
        found = ", ".join(f"{i.name} {i.shape}" for i in inputs) or "none"
        wanted = ", ".join(f"{name} [batch, {', '.join(map(str, shape))}]" for name, shape in wants)
        raise SpeccError(f"'{path}': the graph's inputs ({found}) do not fit its spec's inputs ({wanted})")
    return inputs


def _json_list(meta: dict[str, str], key: str, path: Path) -> object:
    if key not in meta:
        return None
    try:
        return json.loads(meta[key])
    except ValueError as exc:
        raise SpeccError(f"'{path}': its metadata `{key}` is not JSON ({exc})") from exc


def _classes(analysis) -> int:
    """How many classes the model tells apart: its outputs, 2 for a single sigmoid unit, K for a segmenter."""
    if is_segmenter_shape(analysis) and class_scores(tuple(analysis.output)) is None:
        return analysis.output[-1]
    outputs = math.prod(analysis.output)
    return 2 if outputs == 1 and analysis.final_activation == "sigmoid" else outputs


def _class_names(names: object, classes: int, path: Path, what: str) -> list[str] | None:
    """``names`` if they are ``classes`` strings; None if absent; anything else is refused, naming the file."""
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(names) != classes:
        if isinstance(names, list):
            found = f"a list of {len(names)} {'strings' if all(isinstance(n, str) for n in names) else 'values'}"
        else:
            found = _JSON_KINDS.get(type(names), type(names).__name__)
        raise SpeccError(f"'{path}': {what} should be a list of {classes} strings, one per class; it is {found}")
    return names


def predict(model: Loaded, samples: Iterable[Sample], top: int = 3) -> list[Prediction]:
    """The ``top`` most probable classes of every sample, in the samples' order."""
    if top < 1:
        raise SpeccError(f"--top must be at least 1 (got {top})", 2)
    results: list[Prediction] = []
    batch: list[Sample] = []
    for sample in [*samples, None]:
        if sample is not None:
            batch.append(sample)
        if batch and (sample is None or len(batch) == CHUNK):
            p = model.scores(*_stacked(batch))
            for s, row in zip(batch, p):
                best = np.argsort(-row, kind="stable")[:top]
                results.append(Prediction(s.name, [(int(c), model.name_of(int(c)), float(row[c])) for c in best]))
            batch = []
    return results


def _stacked(batch: list[Sample]) -> list[np.ndarray]:
    """A batch of samples as the model takes them: one array per input, torch layout, float32."""
    if not isinstance(batch[0].x, tuple):
        return [torch_layout(np.stack([s.x for s in batch]).astype(np.float32))]
    return [torch_layout(np.stack(parts).astype(np.float32)) for parts in zip(*(cast(tuple, s.x) for s in batch))]


def text(model: Loaded, predictions: list[Prediction]) -> str:
    """One line per sample: ``cat.png  cat 87.3%  dog 10.1%  bird 2.6%``.

    Names from files (inputs, classes, the model's) are shown with control characters
    written out, so a class named with a newline or an escape sequence cannot forge a line.
    """
    shown = printable_line
    inputs = [shown(p.input) for p in predictions]
    width = max(map(len, inputs), default=0)
    lines = [f"{shown(model.name)}: {shown(model.source)}; inputs scaled as '{shown(model.scaling)}'"]
    for p, name in zip(predictions, inputs):
        ranked = "  ".join(f"{shown(label)} {prob:.1%}" for _, label, prob in p.top)
        lines.append(f"{name:<{width}}  {ranked}")
    return "\n".join(lines)
