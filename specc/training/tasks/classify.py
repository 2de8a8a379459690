"""classify: one class per sample (spec-tasks §1), from class scores: a vector, or a 1x1xK map.

Loss: cross-entropy on the scores before the final softmax; for one sigmoid unit
(two classes, labels 0 and 1) binary cross-entropy on its logit. Metrics: accuracy,
and on validation precision, recall and F1 averaged over the classes (macro, as
scikit-learn's ``average="macro"``), from the epoch's confusion matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import SpeccError
from ...numbers import dims
from . import Task, confusion, ratio, scores_of


class Classify(Task):
    name = "classify"
    losses = ("ce", "bce")
    train_columns = ("acc",)
    val_columns = ("acc", "precision", "recall", "f1")
    curve = "acc"  # the metric curves.png draws beside the loss
    monitor, higher = "val_acc", True

    def shown(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("acc",), ("acc",)  # precision, recall and F1 are in metrics.jsonl and `specc val`

    @classmethod
    def unfit(cls, io) -> str | None:
        if scores_of(io) is None:
            return f"its output is {dims(io.output)} (line {io.output_line}), not class scores (a vector, or a 1x1 map)"
        return None

    @classmethod
    def usable_losses(cls, io) -> tuple[str, ...]:
        return ("bce",) if binary(io) else ("ce",)

    @property
    def binary(self) -> bool:
        return binary(self.io)

    @property
    def classes(self) -> int:
        return 2 if self.binary else int(scores_of(self.io) or 0)

    def targets(self, y: np.ndarray, what: str) -> np.ndarray:
        from ..sources import labels

        return labels(y, what)

    def check_targets(self, ys: Sequence[np.ndarray], class_names: list[str] | None) -> None:
        io = self.io
        if class_names is not None and len(class_names) != self.classes:
            names = ", ".join(class_names[:6]) + (", ..." if len(class_names) > 6 else "")
            raise SpeccError(f"the data has {len(class_names)} classes ({names}) but the spec outputs "
                             f"{self._outputs()} (line {io.output_line})")
        found = max((int(y.max()) for y in ys if y.size), default=-1) + 1
        limit = len(class_names) if class_names is not None else self.classes
        if found > limit or (class_names is None and found != self.classes):
            raise SpeccError(f"labels have {found} classes (0..{found - 1}) but the spec outputs {self._outputs()} "
                             f"(line {io.output_line})")

    def _outputs(self) -> str:
        return "1 sigmoid unit (2 classes: labels 0 and 1)" if self.binary else f"{self.classes}"

    def review(self, net, x, y, names, folder, title, prefix=""):
        """The confusion matrix and (images) the most confident mistakes: confusion.png, misclassified.png."""
        from ..review import plot_review, verdicts

        found = verdicts(net, x, y, self.binary, int(scores_of(self.io) or 0))
        return plot_review(found, x, names, folder, title, prefix)

    def predicted(self, out: torch.Tensor) -> torch.Tensor:
        logits = out.float().flatten(1)
        return (logits[:, 0] > 0).long() if self.binary else logits.argmax(1)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = out.float().flatten(1)  # (N, K)
        if self.binary:
            return F.binary_cross_entropy_with_logits(logits[:, 0], y.float())
        return F.cross_entropy(logits, y)

    @property
    def width(self) -> int:
        return self.classes * self.classes

    def sums(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return confusion(self.predicted(out), y, self.classes)

    def metrics(self, sums: Sequence[float], count: float) -> dict[str, float]:
        matrix = np.asarray(sums, dtype=np.float64).reshape(self.classes, self.classes)
        found = macro(matrix)
        return {"acc": ratio(float(np.trace(matrix)), count) if count else float("nan"), **found}


def binary(io) -> bool:
    """One sigmoid unit: two classes, labels 0 and 1."""
    return io.final == "sigmoid" and scores_of(io) == 1


def per_class(matrix: np.ndarray) -> list[dict[str, float]]:
    """Each class's precision, recall and F1 from a (K, K) confusion matrix (row = true class)."""
    rows = []
    for k in range(len(matrix)):
        right, total, predicted = float(matrix[k, k]), float(matrix[k].sum()), float(matrix[:, k].sum())
        precision, recall = ratio(right, predicted), ratio(right, total)
        rows.append({"precision": precision, "recall": recall, "f1": ratio(2 * precision * recall, precision + recall)})
    return rows


def macro(matrix: np.ndarray) -> dict[str, float]:
    """The unweighted means over the classes of precision, recall and F1 (scikit-learn's ``average="macro"``)."""
    rows = per_class(matrix)
    return {key: sum(r[key] for r in rows) / len(rows) if rows else 0.0 for key in ("precision", "recall", "f1")}
