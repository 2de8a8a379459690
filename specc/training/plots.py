"""The run's figures as PNGs, written atomically with matplotlib's Agg backend (no display):

  curves.png           loss, accuracy and learning rate per epoch; the best epoch marked
  confusion.png        the validation confusion matrix (true class by row, predicted by column)
  misclassified.png    a grid of misclassified samples, with true and predicted class
  segmentation.png     a segmenter's held-out images, their true masks and the predicted ones
  embedding.png        embed: held-out pairs' distances, same and different, with the threshold; the ROC curve
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..escape import printable_line
from ..files import write_run_file
from ..runtime.store import Stored

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


def plot_misclassified(x: np.ndarray | Stored, y: np.ndarray, predicted: np.ndarray, confidence: np.ndarray,
                       names: list[str], path: Path, title: str) -> int:
    """Up to 25 misclassified images (the most confident mistakes first); returns how many are wrong.
    ``x``: (N, C, H, W), in memory or in the on-disk cache (only the images shown are read)."""
    names = [_label(n) for n in names]
    wrong = np.flatnonzero(predicted != y)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:GRID * GRID]
    rows = max(1, -(-len(order) // GRID))
    fig = _figure((2.0 * GRID, 2.2 * rows + 0.6))
    axes = np.asarray(fig.subplots(rows, GRID)).reshape(-1)
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, order):
        image, cmap = _displayable(np.asarray(x[i]))
        ax.imshow(image, cmap=cmap, vmin=0, vmax=1)
        ax.set_title(f"{names[y[i]]} → {names[predicted[i]]}\n{confidence[i]:.0%}", fontsize=8)
    shown = f"{len(order)} of {len(wrong)} misclassified" if len(wrong) else f"all {len(y)} samples right"
    fig.suptitle(f"{_label(title)}\n{shown} (true → predicted, confidence)")
    _save(fig, path)
    return len(wrong)


def plot_segmentation(x: np.ndarray, truth: np.ndarray, predicted: np.ndarray, names: list[str],
                      colours: np.ndarray, path: Path, title: str) -> None:
    """A row per sample: the image, its true mask and the predicted one, each with its pixel accuracy;
    ``x`` (N, C, H, W), masks (N, H, W) class ids, ``colours`` (K, 3) uint8 (specc.runtime.palette).
    The legend names the classes the grid shows."""
    from matplotlib.patches import Patch

    rows = max(1, len(x))
    aspect = x.shape[3] / x.shape[2] if len(x) else 1.0
    fig = _figure((3 * 2.4 * min(aspect, 2.5) + 1.8, 2.4 * rows + 0.7))
    axes = np.asarray(fig.subplots(rows, 3, squeeze=False))
    for ax in axes.reshape(-1):
        ax.set_xticks([])
        ax.set_yticks([])
    for i in range(len(x)):
        image, cmap = _displayable(x[i])
        right = float((predicted[i] == truth[i]).mean()) if truth[i].size else float("nan")
        axes[i, 0].imshow(image, cmap=cmap, vmin=0, vmax=1)
        axes[i, 1].imshow(colours[truth[i]], interpolation="nearest")
        axes[i, 2].imshow(colours[predicted[i]], interpolation="nearest")
        axes[i, 0].set_ylabel(f"sample {i + 1}", fontsize=9)
        axes[i, 2].set_xlabel(f"{right:.1%} of pixels right", fontsize=8)
    for ax, heading in zip(axes[0], ("image", "truth", "prediction")):
        ax.set_title(heading, fontsize=10)
    shown = sorted(set(np.unique(truth).tolist()) | set(np.unique(predicted).tolist()))
    handles = [Patch(facecolor=colours[k] / 255, edgecolor="0.5", label=_label(names[k])) for k in shown]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, title="class", title_fontsize=9)
    fig.suptitle(_label(title))
    _save(fig, path)


def plot_verification(scores: np.ndarray, same: np.ndarray, found: dict[str, float],
                      curve: tuple[np.ndarray, np.ndarray], probabilities: bool, path: Path, title: str) -> None:
    """Face verification on held-out pairs: the histograms of same and different pairs' distances (or a pair
    network's probabilities) with the threshold, and the ROC curve with the threshold's point.

    ``found``: verification()'s acc, auc and threshold; ``curve``: the ROC's false and true positive rates."""
    fig = _figure((11.0, 4.0))
    hist_ax, roc_ax = fig.subplots(1, 2)
    scores, same = np.asarray(scores, dtype=np.float64), np.asarray(same, dtype=bool)
    if len(scores):
        low, high = float(scores.min()), float(scores.max())
        bins = np.linspace(low, high if high > low else low + 1.0, 31)
        for these, label, colour in ((same, "same identity", "tab:green"), (~same, "different", "tab:red")):
            hist_ax.hist(scores[these], bins=bins, alpha=0.55, color=colour, label=f"{label} ({int(these.sum()):,})")
    threshold, accuracy, auc = found["threshold"], found["acc"], found["auc"]
    if threshold == threshold:  # NaN: one kind of pair only, no threshold
        hist_ax.axvline(threshold, color="black", linestyle="--", linewidth=1,
                        label=f"threshold {threshold:.3g} (accuracy {accuracy:.1%})")
    hist_ax.set_xlabel("probability of the same identity" if probabilities else
                       "distance between L2-normalised encodings")
    hist_ax.set_ylabel("pairs")
    hist_ax.set_title("held-out pairs (same: " + ("above" if probabilities else "below") + " the threshold)")
    hist_ax.legend()
    fpr, tpr = curve
    if len(fpr) and fpr[-1] == fpr[-1] and tpr[-1] == tpr[-1]:
        roc_ax.plot(fpr, tpr, "-", color="tab:blue", label=f"ROC AUC {auc:.4f}")
        said_same = scores > threshold if probabilities else scores < threshold
        point = (float(said_same[~same].mean()), float(said_same[same].mean()))
        roc_ax.plot(*point, "o", color="black", label="at the threshold")
    roc_ax.plot([0, 1], [0, 1], ":", color="gray", linewidth=1)
    roc_ax.set_xlim(0, 1)
    roc_ax.set_ylim(0, 1.01)
    roc_ax.set_xlabel("false accept rate (different pairs called same)")
    roc_ax.set_ylabel("true accept rate (same pairs called same)")
    roc_ax.legend(loc="lower right")
    for ax in (hist_ax, roc_ax):
        ax.grid(alpha=0.3)
    fig.suptitle(_label(title))
    _save(fig, path)
