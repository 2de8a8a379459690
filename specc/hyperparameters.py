"""The training hyperparameters, once: names, kinds, defaults, help and the reason
for each default. Three readers build on this table and nothing else: the spec's
`train` statement (specc.lower.statements, checked by specc check), the flags of
`specc train` (specc.cli.commands.train) and the validated config
(specc.training.config.TrainConfig). No imports: `specc check` reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .record import NamedTuple

if TYPE_CHECKING:
    from typing import TypedDict

    class Bounds(TypedDict, total=False):
        """A kind's bounds, as pydantic's Field takes them."""

        ge: float
        gt: float
        le: float
        lt: float

# Each optimizer, and the copies of the parameters its state keeps (the --batch estimate counts them).
OPTIMIZER_STATE = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}
OPTIMIZERS = tuple(OPTIMIZER_STATE)
# What a network learns (spec-tasks §1; specc.training.tasks holds each one), and the losses they take.
TASKS = ("classify", "segment", "regress", "embed")
LOSSES = ("ce", "bce", "mse", "mae", "huber", "triplet")
# How the learning rate moves from epoch to epoch (docs/train.md, "Schedules and early stopping").
SCHEDULES = ("inverse", "exp", "step", "cosine", "plateau")


class Hyper(NamedTuple):
    name: str
    kind: str  # count (int >= 1), seed (0 <= int < 2**31), whole (int >= 0), choice, column (a metrics column's
    # name), positive (> 0), fraction (0, 1), non_negative, rate, path (a file: in the spec, relative to its folder)

    default: object  # None: decided by the run (the task from the spec, the loss from the task)
    metavar: str
    help: str
    reason: str  # why the default is what it is
    choices: tuple[str, ...] = ()  # a choice's words


HYPERPARAMETERS: tuple[Hyper, ...] = (
    Hyper("batch", "count", 64, "N", "mini-batch size (the global one under torchrun)",
          "the course's advice: a power of two from 64 to 512 that fits in memory; 64 suits small data and CPUs"),
    Hyper("epochs", "count", 10, "N", "passes over the training data (with --resume: the new total)",
          "enough for the small data sets this tool is taught with to converge; raise it for real data"),
    Hyper("task", "choice", None, "TASK", "classify, segment, regress or embed (default: read from the spec's output)",
          "a vector (or 1x1 map) of scores is a classifier, a map of the input's size a segmenter; regress and "
          "embed are always written", TASKS),
    Hyper("loss", "choice", None, "LOSS", "ce, bce, mse, mae, huber or triplet (default: the task's)",
          "each task's usual loss: cross-entropy for classes and pixels, mse for values, triplet for an encoder, "
          "bce for a pair network", LOSSES),
    Hyper("margin", "positive", 0.2, "ALPHA", "the triplet loss's margin (embed)",
          "the course's alpha (FaceNet's 0.2), between L2-normalised embeddings"),
    Hyper("optimizer", "choice", "adam", "NAME", "sgd, momentum, rmsprop or adam",
          "Adam works well across architectures with little tuning (course 2, week 2)", OPTIMIZERS),
    Hyper("lr", "positive", 1e-3, "RATE", "learning rate",
          "Adam's usual learning rate (the course's Adam default); sgd usually wants ~0.01-0.1"),
    Hyper("beta", "fraction", 0.9, "B", "momentum/rmsprop averaging weight",
          "0.9 averages about the last 10 gradients (the course's default)"),
    Hyper("beta1", "fraction", 0.9, "B", "adam's first-moment weight",
          "the value the course (and Adam's paper) recommend"),
    Hyper("beta2", "fraction", 0.999, "B", "adam's second-moment weight",
          "the value the course (and Adam's paper) recommend"),
    Hyper("eps", "positive", 1e-8, "E", "rmsprop/adam epsilon", "the value the course (and Adam's paper) recommend"),
    Hyper("decay", "non_negative", 0.0, "D",
          "learning-rate decay: lr / (1 + decay * epoch_index) (inverse), lr * (1 - decay)^epoch_index (exp)",
          "0 keeps the rate fixed, the least surprising default"),
    Hyper("schedule", "choice", "inverse", "NAME", "learning-rate schedule: inverse, exp, step, cosine or plateau",
          "inverse with decay 0 keeps the rate fixed, as runs before schedules did; the course's decay is inverse",
          SCHEDULES),
    Hyper("warmup", "whole", 0, "N", "epochs of linear warm-up before the schedule: epoch e <= N runs at lr * e/(N+1)",
          "0: none; small nets on small data need none, deep ones at large rates or batches often want 1-5"),
    Hyper("step_size", "count", 30, "N", "schedule=step: multiply the rate by gamma every N epochs",
          "torch's StepLR example and the ResNet paper's ImageNet recipe: a tenth every 30 epochs"),
    Hyper("gamma", "fraction", 0.1, "G", "schedule=step and plateau: the factor each cut multiplies the rate by",
          "torch's StepLR gamma and ReduceLROnPlateau factor, and Keras's factor: a tenth"),
    Hyper("lr_patience", "count", 3, "N",
          "schedule=plateau: cut the rate after N epochs in which the monitored metric did not improve",
          "runs here last tens of epochs; torch's and Keras's 10 suit runs of hundreds"),
    Hyper("patience", "whole", 0, "N",
          "early stopping: stop after N epochs in which the monitored metric did not improve (0: never; "
          "with --resume it may change, as --epochs may)",
          "0 trains every epoch asked for, the least surprising default; 5-10 is usual when it is on"),
    Hyper("monitor", "column", None, "COLUMN",
          "the metrics column early stopping and plateau watch (default: the task's, e.g. val_acc)",
          "the column best.pt is chosen by: stopping and best.pt then agree on what 'better' means"),
    Hyper("min_delta", "non_negative", 0.0, "D",
          "an epoch improves on the best only by more than D of the monitored metric (early stopping, plateau)",
          "0: any improvement counts, as Keras's EarlyStopping has it"),
    Hyper("l2", "non_negative", 0.0, "LAMBDA",
          "L2 regularisation: adds lambda/(2m) * sum of squared weights to the cost",
          "the course's lambda; 0 = none, until overfitting shows in the curves"),
    Hyper("seed", "seed", 0, "N", "seed for weights, validation split, shuffling and dropout",
          "a fixed seed makes runs repeatable: initial weights, validation split, shuffling and dropout"),
    Hyper("val", "fraction", 0.1, "FRACTION", "share held out for validation when the data has no validation set",
          "10% keeps most data for training"),
    Hyper("droppath", "rate", 0.0, "R",
          "stochastic depth: the rate of the last bare `droppath` line, growing linearly from 0 over them",
          "0 keeps every branch; ConvNeXt-T trains with 0.1, larger ConvNeXts with up to 0.5"),
    Hyper("init", "path", None, "FILE",
          "initial weights: a PyTorch state dict (.pt/.pth), .safetensors, a specc run or checkpoint, or Keras "
          "weights (.h5/.keras); matched by name, then by order and shape (see --partial)",
          "none: the seed's random initialisation (torch's defaults for each layer); give a file to fine-tune"),
)

# The Python type of each kind, for the flags and the config.
TYPES = {"count": int, "seed": int, "whole": int, "choice": str, "column": str, "positive": float,
         "fraction": float, "non_negative": float, "rate": float, "path": str}
# The bounds of each kind, in pydantic's words (the spec's checkers in specc.kinds.values say the same).
BOUNDS: dict[str, Bounds] = {
    "count": {"ge": 1}, "seed": {"ge": 0, "le": 2**31 - 1}, "whole": {"ge": 0, "le": 2**31 - 1}, "choice": {},
    "column": {}, "positive": {"gt": 0}, "fraction": {"gt": 0, "lt": 1}, "non_negative": {"ge": 0},
    "rate": {"ge": 0, "lt": 1}, "path": {},
}
