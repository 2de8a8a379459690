"""The training curves as a PNG: loss and accuracy per epoch, train and validation.

matplotlib with the Agg backend (no display needed); written atomically.
"""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomic


def plot_curves(history: list[dict[str, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    for ax, key, label in ((loss_ax, "loss", "loss"), (acc_ax, "acc", "accuracy")):
        ax.plot(epochs, [r[f"train_{key}"] for r in history], "o-", label="train", markersize=3)
        ax.plot(epochs, [r[f"val_{key}"] for r in history], "o-", label="validation", markersize=3)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    write_atomic(path, lambda handle: fig.savefig(handle, format="png", dpi=110))
