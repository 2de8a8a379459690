"""`specc predict` as a library: load a trained model, run it on samples, rank the classes.

    RUN_DIR | CHECKPOINT ─checkpoint.load_model→ torch module ┐
    FILE.onnx ─onnxruntime + specc's metadata─────────────────┴→ Model ─probabilities→ top-k

A checkpoint is read only through :mod:`specc.checkpoint` (weights_only); an
ONNX file through onnxruntime, its input shape, class names and scaling taken
from the metadata `specc export` writes (docs/export.md). Probabilities are
the softmax of the logits (or the sigmoid of a single output: two classes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SpeccError
from .inputs import Sample

CHUNK = 256  # samples per forward pass: bounded memory for a folder of thousands of images


@dataclass(frozen=True)
class Model:
    """A trained model ready to score samples in the spec's layout."""

    name: str
    shape: tuple[int, ...]  # the spec's input: (H, W, C) or (F,)
    class_names: list[str] | None
    scaling: str  # what the run recorded about its data's scaling
    source: str  # where the weights come from, in words
    scores: Callable[[np.ndarray], np.ndarray]  # (N, *torch input) float32 -> probabilities (N, K)

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


def load(path: str | Path) -> Model:
    """A run directory (its best.pt, else last.pt), a checkpoint file or an .onnx file."""
    path = Path(path)
    if path.suffix.lower() == ".onnx" and path.is_file():
        return _from_onnx(path)
    return _from_checkpoint(path)


def _from_checkpoint(path: Path) -> Model:
    import torch

    from .checkpoint import load_model, resolve_checkpoint
    from .export.source import recorded_scaling
    from .pipeline import analyse_text

    file = resolve_checkpoint(path)
    module, meta = load_model(file)
    analysis = analyse_text(meta.spec_source, meta.spec_path or f"{meta.model_name}.cnn")
    final = module.final_activation

    @torch.no_grad()
    def scores(x: np.ndarray) -> np.ndarray:
        return probabilities(module.logits(torch.from_numpy(x)).numpy(), final, logits=True)

    return Model(meta.model_name, tuple(analysis.model.input), meta.class_names, recorded_scaling(meta.config),
                 f"checkpoint {file} (epoch {meta.epoch})", scores)


def _from_onnx(path: Path) -> Model:
    import onnxruntime as ort

    from .pipeline import analyse_text

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 -- onnxruntime raises its own untyped errors for bad files
        raise SpeccError(f"cannot load '{path}' with onnxruntime: {str(exc).strip().splitlines()[0]}") from exc
    meta = session.get_modelmeta().custom_metadata_map
    if "spec" not in meta:
        raise SpeccError(f"'{path}' has no specc metadata (no `spec` entry); export it with `specc export`")
    analysis = analyse_text(meta["spec"], f"{meta.get('model_name', path.stem)}.cnn")
    output = meta.get("output", "")
    final = "sigmoid" if "sigmoid" in output else "softmax" if "softmax" in output else None
    logits = output.startswith("logits") or final is None
    (entry,) = session.get_inputs()
    fixed = entry.shape[0] if isinstance(entry.shape[0], int) else None

    def scores(x: np.ndarray) -> np.ndarray:
        if fixed is None or len(x) == fixed:
            return probabilities(session.run(None, {entry.name: x})[0], final, logits)
        parts = [np.concatenate([x[i:i + fixed], np.zeros((max(0, i + fixed - len(x)), *x.shape[1:]), x.dtype)])
                 for i in range(0, len(x), fixed)]  # a fixed --batch export: pad the last part
        out = np.concatenate([session.run(None, {entry.name: p})[0] for p in parts])[:len(x)]
        return probabilities(out, final, logits)

    names = json.loads(meta["class_names"]) if "class_names" in meta else None
    return Model(meta.get("model_name", path.stem), tuple(analysis.model.input), names,
                 meta.get("input_scaling", "uint8 / 255"), f"ONNX file {path}", scores)


def predict(model: Model, samples: Iterable[Sample], top: int = 3) -> list[Prediction]:
    """The ``top`` most probable classes of every sample, in the samples' order."""
    if top < 1:
        raise SpeccError(f"--top must be at least 1 (got {top})", 2)
    results: list[Prediction] = []
    batch: list[Sample] = []
    for sample in [*samples, None]:
        if sample is not None:
            batch.append(sample)
        if batch and (sample is None or len(batch) == CHUNK):
            p = model.scores(torch_layout(np.stack([s.x for s in batch]).astype(np.float32)))
            for s, row in zip(batch, p):
                best = np.argsort(-row, kind="stable")[:top]
                results.append(Prediction(s.name, [(int(c), model.name_of(int(c)), float(row[c])) for c in best]))
            batch = []
    return results


def text(model: Model, predictions: list[Prediction]) -> str:
    """One line per sample: ``cat.png  cat 87.3%  dog 10.1%  bird 2.6%``."""
    width = max((len(p.input) for p in predictions), default=0)
    lines = [f"{model.name}: {model.source}; inputs scaled as '{model.scaling}'"]
    for p in predictions:
        ranked = "  ".join(f"{name} {prob:.1%}" for _, name, prob in p.top)
        lines.append(f"{p.input:<{width}}  {ranked}")
    return "\n".join(lines)
