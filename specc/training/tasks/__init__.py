"""What a network learns: its task (spec-tasks §1), one module per task.

A task says which spec it fits, what its targets are (checked before the first
step, the messages naming the file and the mismatch), its loss, and the metrics
of an epoch. The loop (specc.training.loop) feeds it batches; each batch adds
to a vector of sums (a confusion matrix, error sums) that stays on the device
and is summed over the ranks once per epoch, so metrics cost no sync per step
and come out the same under torchrun.

    classify   class scores: a vector, or a 1x1 map          cross-entropy (bce for one sigmoid unit)
    segment    an HxWxK map of the input's H and W            per-pixel cross-entropy
    regress    K values                                       mse, mae or huber
    embed      an encoding (one input), or a pair's score     triplet, or bce on pairs

`train task=…` (or `--task`) names it; otherwise it is read from the output
(classify or segment) and the run says so. Adding a task: a module here with a
subclass of :class:`Task`, listed in TASKS (and in specc.hyperparameters.TASKS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from ...errors import SpeccError
from ...infer.tasks import class_scores, read_task
from ...numbers import dims

if TYPE_CHECKING:
    from pathlib import Path

    from ..inputs import Inputs
    from ..specio import SpecIO


@dataclass(frozen=True)
class Validation:
    """`specc val`'s result for a task: its metrics (spec-tasks' names), a row per class or output, pictures."""

    metrics: dict[str, float]
    rows: list[dict]
    figures: list[Path]


class Task:
    """One task: its fit to the spec, targets, loss and metrics. Subclasses set the class variables."""

    name: ClassVar[str]
    losses: ClassVar[tuple[str, ...]]  # the `loss=` it takes; the first is its default
    train_columns: ClassVar[tuple[str, ...]] = ()  # metrics reported for the training pass (train_<name>)
    val_columns: ClassVar[tuple[str, ...]] = ()  # and for the validation pass (val_<name>)
    curve: ClassVar[str] = "loss"  # the metric curves.png draws beside the loss
    monitor: ClassVar[str] = "val_loss"  # the column best.pt is chosen by
    higher: ClassVar[bool] = False  # whether a higher monitor is better
    reads_logits: ClassVar[bool] = True  # the loss reads the scores before the spec's final activation
    collects: ClassVar[bool] = False  # validation needs every held-out output at once (evaluate), not sums
    target_dtype: ClassVar[torch.dtype] = torch.int64

    def __init__(self, io: SpecIO, loss: str | None = None, margin: float = 0.2):
        self.io, self.margin = io, margin
        self.loss_name = loss or self.default_loss(io)
        if self.loss_name not in self.usable_losses(io):
            raise SpeccError(f"loss={self.loss_name} does not fit task {self.name}: it takes "
                             f"{' or '.join(self.usable_losses(io))}", 2)

    # What fits: the spec and the losses
    @classmethod
    def unfit(cls, io: SpecIO) -> str | None:
        """Why the spec cannot be trained for this task (None when it can)."""
        return None

    @classmethod
    def default_loss(cls, io: SpecIO) -> str:
        return cls.usable_losses(io)[0]

    @classmethod
    def usable_losses(cls, io: SpecIO) -> tuple[str, ...]:
        return cls.losses

    # Targets
    def targets(self, y: np.ndarray, what: str) -> np.ndarray:
        """The targets of ``what`` (e.g. "'data.npz' y"), checked and in the dtype training reads."""
        raise NotImplementedError

    def check_targets(self, ys: Sequence[np.ndarray], class_names: list[str] | None) -> None:
        """Checks across the training and validation targets (class counts); messages cite the spec's line."""

    @property
    def draws_pairs(self) -> bool:
        """Whether its samples are pairs drawn from one input's images (a Siamese pair network): the data
        hold one image per sample, and arrange() makes the pairs."""
        return False

    def arrange(self, x: np.ndarray, y: np.ndarray, seed: int, part: str = "") -> tuple[Any, np.ndarray]:
        """A split's part as training reads it (``part``: which, in words); most tasks take it as it is."""
        return x, y

    # Training
    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The mean loss of a batch, in fp32 (``out``: the module's scores, or its output: reads_logits)."""
        raise NotImplementedError

    @property
    def width(self) -> int:
        """The length of the sums vector a batch adds to."""
        return 0

    def sums(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """What a batch adds to the epoch's sums (float64 where the device has it)."""
        return out.new_zeros(0, dtype=torch.float64)

    def metrics(self, sums: Sequence[float], count: float) -> dict[str, float]:
        """The epoch's metrics from its sums, by column name without the train_/val_ prefix."""
        return {}

    def evaluate(self, outs: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """A collecting task's validation metrics from every held-out output at once."""
        raise NotImplementedError(f"task {self.name} is scored from sums, not collected outputs")

    def columns(self) -> tuple[str, ...]:
        """The task's columns of metrics.jsonl/.csv, after train_loss and val_loss."""
        return (*(f"train_{c}" for c in self.train_columns), *(f"val_{c}" for c in self.val_columns))

    def describe(self) -> str:
        """What the run prints about its task, after the task's name."""
        return f"loss {self.loss_name}"

    # `specc val`
    @torch.no_grad()
    def validate(self, net: torch.nn.Module, x: Inputs, y: torch.Tensor, names: list[str] | None, folder: Path,
                 title: str, prefix: str = "", batch: int = 256) -> Validation:
        """The task's metrics on held-out samples, by the contract's names, and its pictures (``prefix``-ed)."""
        from ..inputs import each, mapped, samples

        was_training = net.training
        net.eval()
        device = next(net.parameters(), torch.empty(0)).device
        total, count, outs = torch.zeros(self.width, dtype=torch.float64), 0, []
        try:
            for start in range(0, samples(x), batch):
                part = mapped(x, lambda t: t[start:start + batch].to(device))  # noqa: B023 -- used at once
                yb = y[start:start + batch].to(device)
                out = net.logits(*each(part)) if self.reads_logits else net(*each(part))  # type: ignore[operator]
                total += self.sums(out, yb).cpu().to(torch.float64)
                count += len(yb)
                if self.collects:
                    outs.append(out.float().cpu())
        finally:
            net.train(was_training)
        found = self.report(total.tolist(), count, torch.cat(outs) if outs else None, y.cpu(), names)
        return Validation(found[0], found[1], self.review(net, x, y, names, folder, title, prefix))

    def report(self, sums: Sequence[float], count: float, outs: torch.Tensor | None, y: torch.Tensor,
               names: list[str] | None) -> tuple[dict[str, float], list[dict]]:
        """`specc val`'s figures from a pass's sums (and outputs, for a task that collects them): the metrics by
        the contract's names, and one row per class or output."""
        return self.metrics(sums, count), []

    def review(self, net: torch.nn.Module, x: Inputs, y: torch.Tensor, names: list[str] | None, folder: Path,
               title: str, prefix: str = "") -> list[Path]:
        """The pictures of the final weights on held-out samples, written in ``folder``; their paths."""
        return []

    def shown(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The metrics an epoch's line shows, of the training pass and of the validation pass."""
        return self.train_columns, self.val_columns


# How the metrics are named and shown: in words (the summary line, the curves) and as numbers.
WORDS = {"acc": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1", "miou": "mIoU",
         "auc": "ROC AUC", "threshold": "threshold", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "loss": "loss"}
PERCENT = frozenset({"acc", "precision", "recall", "f1", "miou"})


def shown_value(name: str, value: float) -> str:
    """``acc`` 0.9812 as ``98.12%``; the others as numbers."""
    return f"{value:7.2%}" if name in PERCENT else f"{value:.4g}"


def ratio(part: float, whole: float) -> float:
    """A ratio with nothing to count is 0, as scikit-learn's ``zero_division=0`` has it."""
    return part / whole if whole else 0.0


def confusion(predicted: torch.Tensor, truth: torch.Tensor, classes: int) -> torch.Tensor:
    """(K·K,) counts of (true, predicted) pairs, row-major: row = true class, column = predicted."""
    index = truth.reshape(-1) * classes + predicted.reshape(-1)
    return torch.bincount(index, minlength=classes * classes).to(torch.float64)


def scores_of(io: SpecIO) -> int | None:
    """The class scores of the spec's output: K for a vector of K or a 1x1xK map, else None."""
    return class_scores(io.output)


def all_tasks() -> dict[str, type[Task]]:
    """Every task by name, in spec-tasks' order (imported here: each module imports this one)."""
    from .classify import Classify
    from .embed import Embed
    from .regress import Regress
    from .segment import Segment

    return {t.name: t for t in (Classify, Segment, Regress, Embed)}


def of_run(io: SpecIO, config: dict) -> Task:
    """The task a run trained (its config's `train`: task, loss, margin), read as training settled it;
    a run from before tasks was a classifier."""
    hyper = config.get("train", {}) if isinstance(config.get("train"), dict) else {}
    written = hyper.get("task") if hyper.get("task") in all_tasks() else None
    loss = hyper.get("loss") if isinstance(hyper.get("loss"), str) else None
    margin = hyper.get("margin", 0.2)
    return resolve(io, written, loss, float(margin) if isinstance(margin, (int, float)) else 0.2)[0]


def resolve(io: SpecIO, written: str | None, loss: str | None, margin: float) -> tuple[Task, str]:
    """The run's task and why: written (`train task=`, `--task`), or read from the spec's output.

    A task that does not fit the spec is refused with what would fit."""
    tasks = all_tasks()
    if written is not None:
        task = tasks[written]
        why = task.unfit(io)
        if why:
            fits = [name for name, t in tasks.items() if t.unfit(io) is None]
            hint = f"; the spec fits task={' or '.join(fits)}" if fits else ""
            raise SpeccError(f"task={written} does not fit the spec: {why}{hint}")
        return task(io, loss, margin), "written"
    name = read_task(None, io.output, io.shape)
    if name is not None and tasks[name].unfit(io) is None:
        return tasks[name](io, loss, margin), inferred(io, name)
    raise SpeccError(f"the spec's output is {dims(io.output)} (line {io.output_line}): neither class scores (a vector, "
                     f"or a 1x1 map) nor a map of the input's height and width, so its task cannot be read from it. "
                     f"Write it: `train task=regress` for values, `task=embed` for an encoding; or end the spec with "
                     f"an fc layer (e.g. `fc 10 softmax`) or global average pooling to classify")


def inferred(io: SpecIO, name: str) -> str:
    """How the task was read from the spec, as the run's echo says it."""
    if name == "segment":
        return f"read from the output {dims(io.output)}: a map of the input's size, a score per class and pixel"
    return f"read from the output {dims(io.output)}: class scores"
