"""What a trained model says about samples, for every task (spec-tasks §1, the `predict gives` column).

    Loaded.outputs ─┬ classify  probabilities ─→ Classification   (the top classes)
                    ├ segment   (N, K, H, W) ──→ Segmentation     (masks: argmax over the classes; pixel fractions)
                    ├ regress   (N, K) ────────→ Regression       (the values)
                    └ embed     (N, D) ────────→ Embeddings       (L2-normalised), or, for pairs, Verification:
                                (N,) ──────────→ Verification     (the distance or probability, same/different)

Each result is a typed dataclass with ``as_dict()`` (what `specc predict --format
json` prints for it). Distances are those training measures (specc.training.tasks.embed:
``pair_scores``): the L2 distance between L2-normalised encodings, the encodings
divided by max(‖e‖, 1e-12) as torch's ``F.normalize``. A pair is "same" at a
distance below the run's threshold, or a pair network's probability above it
(``verification``'s rule). numpy only: an ONNX model answers without torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import SpeccError
from ..runtime.samples import Sample
from .predict import CHUNK, Loaded, _stacked

NORM_EPS = 1e-12  # torch.nn.functional.normalize's eps


def normalised(e: np.ndarray) -> np.ndarray:
    """(N, D) encodings, each divided by its L2 norm (at least NORM_EPS), as training normalises them."""
    e = e.reshape(len(e), -1).astype(np.float64)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), NORM_EPS)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) L2 distances between the normalised encodings of two (N, D) batches."""
    return np.linalg.norm(normalised(a) - normalised(b), axis=1)


def verdicts(scores: np.ndarray, threshold: float | None, measure: str) -> np.ndarray | None:
    """Same (True) or different for each pair: a distance below the threshold, or a probability above it."""
    if threshold is None:
        return None
    return scores < threshold if measure == "distance" else scores > threshold


@dataclass(frozen=True)
class Classification:
    """classify: each sample's class probabilities and its most probable classes."""

    task: ClassVar[str] = "classify"
    inputs: list[str]
    probabilities: np.ndarray  # (N, K)
    class_names: list[str] | None
    top: list[list[tuple[int, str, float]]]  # per sample (class, name, probability), best first

    @property
    def classes(self) -> np.ndarray:
        """(N,) the most probable class of each sample."""
        return self.probabilities.argmax(axis=1)

    def as_dict(self) -> dict:
        return {"task": self.task, "predictions": [
            {"input": name, "top": [{"class": c, "name": n, "probability": p} for c, n, p in top]}
            for name, top in zip(self.inputs, self.top)]}


@dataclass(frozen=True)
class Segmentation:
    """segment: a class id for every pixel of each sample, and the share of the pixels each class takes."""

    task: ClassVar[str] = "segment"
    inputs: list[str]
    masks: np.ndarray | None  # (N, H, W) class ids: uint8 up to 256 classes, else int32; None: written to files only
    fractions: np.ndarray  # (N, K) the share of each sample's pixels given to each class
    class_names: list[str] | None
    files: list[tuple[str, str]] = field(default_factory=list)  # (mask PNG, overlay PNG) per sample, when written

    def name_of(self, k: int) -> str:
        return self.class_names[k] if self.class_names and k < len(self.class_names) else str(k)

    def as_dict(self) -> dict:
        rows = []
        for i, name in enumerate(self.inputs):
            row: dict = {"input": name}
            if self.files:
                row["mask"], row["overlay"] = self.files[i]
            row["fractions"] = [{"class": k, "name": self.name_of(k), "fraction": float(f)}
                                for k, f in enumerate(self.fractions[i])]
            rows.append(row)
        return {"task": self.task, "classes": self.fractions.shape[1], "predictions": rows}


@dataclass(frozen=True)
class Regression:
    """regress: each sample's K values, as the spec's last layer gives them."""

    task: ClassVar[str] = "regress"
    inputs: list[str]
    values: np.ndarray  # (N, K)

    def as_dict(self) -> dict:
        return {"task": self.task, "predictions": [{"input": name, "values": [float(v) for v in row]}
                                                   for name, row in zip(self.inputs, self.values)]}


@dataclass(frozen=True)
class Embeddings:
    """embed, one image each: its encoding, L2-normalised (the space the run's distances are measured in)."""

    task: ClassVar[str] = "embed"
    inputs: list[str]
    embeddings: np.ndarray  # (N, D), each of norm 1
    threshold: float | None  # the run's distance threshold: closer pairs are the same identity

    def as_dict(self) -> dict:
        return {"task": self.task, "threshold": self.threshold, "predictions": [
            {"input": name, "embedding": [float(v) for v in row]} for name, row in zip(self.inputs, self.embeddings)]}


@dataclass(frozen=True)
class Verification:
    """embed, two images each: their distance (an encoder) or a pair network's probability, and the verdict."""

    task: ClassVar[str] = "embed"
    pairs: list[tuple[str, str]]
    scores: np.ndarray  # (N,) distances (lower: same) or probabilities (higher: same)
    measure: str  # "distance" or "probability"
    threshold: float | None  # the run's; None where it recorded none (no verdicts then)
    same: np.ndarray | None  # (N,) bool, or None without a threshold

    @property
    def inputs(self) -> list[str]:
        """Each pair in a word: `A ~ B`, or a pair network's sample (`pairs.npz[0]` for its a and b)."""
        return [a.rpartition(" ")[0] if self.measure == "probability" else f"{a} ~ {b}" for a, b in self.pairs]

    def as_dict(self) -> dict:
        rows = [{"a": a, "b": b, self.measure: float(s), "same": None if self.same is None else bool(self.same[i])}
                for i, ((a, b), s) in enumerate(zip(self.pairs, self.scores))]
        return {"task": self.task, "measure": self.measure, "threshold": self.threshold, "predictions": rows}


Answer = Classification | Segmentation | Regression | Embeddings | Verification


def chunks(model: Loaded, samples: Iterable[Sample]) -> Iterator[tuple[list[Sample], np.ndarray]]:
    """The task's outputs, CHUNK samples at a time (bounded memory for a folder of thousands of images)."""
    assert model.outputs is not None  # every loader sets it
    batch: list[Sample] = []
    for sample in [*samples, None]:
        if sample is not None:
            batch.append(sample)
        if batch and (sample is None or len(batch) == CHUNK):
            yield batch, model.outputs(*_stacked(batch))
            batch = []


def masks_of(scores: np.ndarray) -> np.ndarray:
    """(N, K, H, W) class scores -> (N, H, W) class ids, the smallest integer type that holds them."""
    return scores.argmax(axis=1).astype(np.uint8 if scores.shape[1] <= 256 else np.int32)


def fractions_of(masks: np.ndarray, classes: int) -> np.ndarray:
    """(N, K) the share of each mask's pixels per class."""
    flat = masks.reshape(len(masks), -1).astype(np.int64)
    return np.stack([np.bincount(m, minlength=classes) / m.size for m in flat]) if len(flat) else \
        np.zeros((0, classes))


def answer(model: Loaded, samples: list[Sample], top: int = 3, pair: bool = False) -> Answer:
    """What the model says about ``samples``, by its task. ``pair``: an encoder compares the samples two by
    two (the first with the second, the third with the fourth, ...)."""
    names = [s.name for s in samples]
    if model.task == "classify":
        if top < 1:
            raise SpeccError(f"top must be at least 1 (got {top})", 2)
        p = np.concatenate([model.scores(*_stacked(samples[i:i + CHUNK])) for i in range(0, len(samples), CHUNK)]) \
            if samples else np.zeros((0, 0))
        ranked = [[(int(c), model.name_of(int(c)), float(row[c])) for c in np.argsort(-row, kind="stable")[:top]]
                  for row in p]
        return Classification(names, p, model.class_names, ranked)
    outs = [out for _, out in chunks(model, samples)]
    if model.task == "segment":
        masks = np.concatenate([masks_of(o) for o in outs]) if outs else np.zeros((0, 0, 0), np.uint8)
        classes = outs[0].shape[1] if outs else len(model.class_names or ())
        return Segmentation(names, masks, fractions_of(masks, classes), model.class_names)
    values = np.concatenate(outs) if outs else np.zeros((0, 0))
    if model.task == "regress":
        return Regression(names, values.reshape(len(values), -1))
    if model.pair:
        first, second = (e.name for e in model.inputs)
        return Verification([(f"{n} {first}", f"{n} {second}") for n in names], values, "probability", model.threshold,
                            verdicts(values, model.threshold, "probability"))
    if not pair:
        return Embeddings(names, normalised(values), model.threshold)
    if len(samples) % 2:
        raise SpeccError(f"--pair compares the samples two by two, but there are {len(samples)}: give an even "
                         f"number (the first with the second, the third with the fourth, ...)", 2)
    d = distances(values[0::2], values[1::2])
    return Verification(list(zip(names[0::2], names[1::2])), d, "distance", model.threshold,
                        verdicts(d, model.threshold, "distance"))
