"""A training run's state, shared by the loop (specc.training.run) and the end of each
epoch (specc.training.finish): what it trains on, where it writes, how far it got."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..analysis import Analysis
from .config import TrainConfig
from .data import Split
from .distributed import World
from .inputs import Inputs
from .loop import Engine
from .progress import Progress


@dataclass(frozen=True)
class Result:
    run_dir: Path | None  # None on ranks other than 0, which write nothing
    history: list[dict[str, float]]
    best_acc: float  # the validation accuracy of the best epoch (NaN for a task without one: regress)
    best_epoch: int
    seconds: float  # time spent in training steps, this invocation
    images_per_s: float
    task: str = "classify"
    monitor: str = "val_acc"  # the column best.pt was chosen by (the task's)
    best: float = float("nan")  # its value at the best epoch


@dataclass
class Run:
    """A run in progress: what it trains on, where it writes, how far it got."""

    analysis: Analysis
    spec_path: Path
    cfg: TrainConfig
    config: dict[str, Any]  # the effective configuration, saved in config.json and every checkpoint
    split: Split
    eng: Engine
    data: tuple[Inputs, torch.Tensor, Inputs, torch.Tensor]  # x, y, x_val, y_val where training reads them
    world: World
    run_dir: Path | None
    progress: Progress
    history: list[dict[str, float]] = field(default_factory=list)
    best_score: float = -1.0  # the task's monitored metric at best_epoch (best.pt)
    best_epoch: int = 0
    saved_epoch: int = 0  # the epoch last.pt holds: what every message about a stopped run cites
