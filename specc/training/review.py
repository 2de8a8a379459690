"""A trained module's verdicts on labelled samples: predicted classes, confidences and
the confusion matrix, for `specc val` and the plots at the end of `specc train`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch

from ..runtime.store import Stored
from .inputs import Inputs, each, mapped
from .loop import Generated
from .plots import plot_confusion, plot_misclassified

CONFUSION, MISCLASSIFIED = "confusion.png", "misclassified.png"


@dataclass(frozen=True)
class Verdicts:
    y: np.ndarray  # (N,) true classes
    predicted: np.ndarray  # (N,) predicted classes
    confidence: np.ndarray  # (N,) probability of the predicted class
    classes: int

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.y).mean()) if len(self.y) else float("nan")

    def confusion(self) -> np.ndarray:
        """(K, K) counts: row = true class, column = predicted class."""
        matrix = np.zeros((self.classes, self.classes), dtype=np.int64)
        np.add.at(matrix, (self.y, self.predicted), 1)
        return matrix


@torch.no_grad()
def verdicts(net: torch.nn.Module, x: Inputs, y: torch.Tensor, binary: bool, classes: int,
             batch: int = 256) -> Verdicts:
    """Run ``net`` (in eval mode, on its own device) over ``x`` in mini-batches; ``classes`` is the
    spec's number of class scores (SpecIO's ``outputs``, specc.training.data)."""
    was_training = net.training
    net.eval()
    device = next(net.parameters(), torch.empty(0)).device
    predicted, confidence = [], []
    try:
        for start in range(0, len(y), batch):
            part = mapped(x, lambda t: t[start:start + batch].to(device))  # noqa: B023 -- used at once
            logits = cast(Generated, net).logits(*each(part)).float().flatten(1)
            if binary:
                p = torch.sigmoid(logits[:, 0])
                predicted.append((p > 0.5).long().cpu())
                confidence.append(torch.where(p > 0.5, p, 1 - p).cpu())
            else:
                best = torch.softmax(logits, dim=1).max(dim=1)
                predicted.append(best.indices.cpu())
                confidence.append(best.values.cpu())
    finally:
        net.train(was_training)
    classes = 2 if binary else classes
    cat = lambda parts: torch.cat(parts).numpy() if parts else np.zeros(0)  # noqa: E731
    return Verdicts(y.cpu().numpy(), cat(predicted).astype(np.int64), cat(confidence), classes)


def class_names(names: list[str] | None, classes: int) -> list[str]:
    return list(names) if names and len(names) == classes else [str(i) for i in range(classes)]


def plot_review(v: Verdicts, x: Inputs, names: list[str] | None, folder: Path, title: str,
                prefix: str = "") -> list[Path]:
    """confusion.png and, for one input of images, misclassified.png in ``folder``; the paths written.
    (A sample of several inputs is several pictures: the grid of one picture per mistake does not show it.)"""
    labels = class_names(names, v.classes)
    written = [folder / f"{prefix}{CONFUSION}"]
    plot_confusion(v.confusion(), labels, written[0], title)
    if isinstance(x, (torch.Tensor, Stored)) and x.ndim == 4 and x.shape[1] in (1, 3, 4):  # gray, RGB, RGBA
        written.append(folder / f"{prefix}{MISCLASSIFIED}")
        pictures = x if isinstance(x, Stored) else x.cpu().numpy()  # from the cache: only the 25 shown are read
        plot_misclassified(pictures, v.y, v.predicted, v.confidence, labels, written[1], title)
    return written
