"""The run's figures as PNGs, written atomically with matplotlib's Agg backend (no display):

  curves.png           loss, accuracy and learning rate per epoch; the best epoch marked
  confusion.png        the validation confusion matrix (true class by row, predicted by column)
  misclassified.png    a grid of misclassified samples, with true and predicted class
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..escape import printable_line
from ..files import write_run_file

if TYPE_CHECKING:
    from .tasks import Task

ANNOTATE_UP_TO = 20  # classes; beyond that the counts would not be readable
GRID = 5  # misclassified samples per row and column


def _figure(size: tuple[float, float]):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def _label(text: str) -> str:
    """A name from the user's files as plain text in a figure: controls written out (no glyph is missing),
    and ``$`` escaped (matplotlib reads ``$...$`` as math, and a bad formula is an error, not a label)."""
    return printable_line(text).replace("$", r"\$")


def _save(fig, path: Path) -> None:
    """Every figure is a run file: a name specc picks in a run's (or a checkpoint's) folder."""
    write_run_file(path.parent, path.name, lambda handle: fig.savefig(handle, format="png", dpi=110))


def best_epoch(history: list[dict[str, float]], monitor: str = "val_acc", higher: bool = True) -> int | None:
    """The first epoch with the best ``monitor`` (the one best.pt holds)."""
    scored = [r for r in history if r.get(monitor) == r.get(monitor)]  # NaN never equals itself
    pick = max if higher else min
    return int(pick(scored, key=lambda r: r[monitor])["epoch"]) if scored else None


def plot_curves(history: list[dict[str, float]], path: Path, title: str, task: Task | None = None) -> None:
    """Loss, the task's main metric (accuracy, mIoU, MAE, ROC AUC) and the learning rate per epoch."""
    from matplotlib.ticker import MaxNLocator

    from .tasks import WORDS

    epochs = [r["epoch"] for r in history]
    monitor, higher, metric = (task.monitor, task.higher, task.curve) if task is not None else ("val_acc", True, "acc")
    best = best_epoch(history, monitor, higher)
    fig = _figure((12.5, 3.6))
    loss_ax, acc_ax, lr_ax = fig.subplots(1, 3)
    for ax, key in ((loss_ax, "loss"), (acc_ax, metric)):
        for prefix, label in (("train", "train"), ("val", "validation")):
            if f"{prefix}_{key}" in history[0]:
                ax.plot(epochs, [r[f"{prefix}_{key}"] for r in history], "o-", label=label, markersize=3)
        ax.set_ylabel(WORDS.get(key, key))
    if best is not None:
        for ax in (loss_ax, acc_ax):
            ax.axvline(best, color="tab:green", linestyle="--", linewidth=1, label=f"best (epoch {best})")
        record = next(r for r in history if r["epoch"] == best)
        marked = acc_ax if f"val_{metric}" == monitor else loss_ax if monitor == "val_loss" else None
        if marked is not None:
            marked.plot([best], [record[monitor]], "*", color="tab:green", markersize=12)
    lr_ax.plot(epochs, [r.get("lr", float("nan")) for r in history], "o-", color="tab:purple", markersize=3)
    lr_ax.set_ylabel("learning rate")
    for ax in (loss_ax, acc_ax, lr_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    loss_ax.legend()
    acc_ax.legend()
    fig.suptitle(_label(title))
    _save(fig, path)


def plot_confusion(matrix: np.ndarray, names: list[str], path: Path, title: str) -> None:
    """Counts, coloured by the share of each true class (row) they make up."""
    k, names = len(matrix), [_label(n) for n in names]
    side = min(max(4.0, 0.45 * k + 2), 16.0)
    fig = _figure((side + 1, side))
    ax = fig.subplots()
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=float), where=rows > 0)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="share of the true class")
    if k <= ANNOTATE_UP_TO:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if shares[i, j] > 0.5 else "black")
        ax.set_xticks(range(k), names, rotation=45, ha="right")
        ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(_label(title))
    _save(fig, path)


def _displayable(sample: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(C, H, W) float -> (H, W[, C]) in [0, 1], stretched when the data is not already there."""
    image = sample.transpose(1, 2, 0)
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:
        image = (image - low) / (high - low or 1)
    return (image[..., 0], "gray") if image.shape[2] == 1 else (image, None)


def plot_misclassified(x: np.ndarray, y: np.ndarray, predicted: np.ndarray, confidence: np.ndarray,
                       names: list[str], path: Path, title: str) -> int:
    """Up to 25 misclassified images (the most confident mistakes first); returns how many are wrong."""
    names = [_label(n) for n in names]
    wrong = np.flatnonzero(predicted != y)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:GRID * GRID]
    rows = max(1, -(-len(order) // GRID))
    fig = _figure((2.0 * GRID, 2.2 * rows + 0.6))
    axes = np.asarray(fig.subplots(rows, GRID)).reshape(-1)
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, order):
        image, cmap = _displayable(x[i])
        ax.imshow(image, cmap=cmap, vmin=0, vmax=1)
        ax.set_title(f"{names[y[i]]} → {names[predicted[i]]}\n{confidence[i]:.0%}", fontsize=8)
    shown = f"{len(order)} of {len(wrong)} misclassified" if len(wrong) else f"all {len(y)} samples right"
    fig.suptitle(f"{_label(title)}\n{shown} (true → predicted, confidence)")
    _save(fig, path)
    return len(wrong)
