"""The end of an epoch and of a run: last.pt, best.pt, metrics and curves, and what a
run that stops early says it kept.

Every message about a stopped run (Ctrl-C, a full disk, out of memory, divergence)
cites ``run.saved_epoch``, the epoch last.pt really holds, never the epoch that was
trained: a Ctrl-C or a full disk while epoch N is saved leaves epoch N-1 in last.pt.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..errors import SpeccError, WriteError, first_line, out_of_memory
from ..files import write_run_file
from ..ir import channels_first
from ..runtime.checkpoint import BEST, LAST, CheckpointMeta, save_checkpoint, spec_sha256
from .loop import EpochSums, stalled
from .plots import plot_curves
from .progress import epoch_line
from .runlog import columns, write_metrics
from .setup import spec_io

if TYPE_CHECKING:
    from .state import Run
    from .tasks import Task


def kept(run: Run) -> str:
    """Where the last good epoch is, from what was really saved (not from what was trained)."""
    if not run.saved_epoch:
        return "no epoch finished, so no checkpoint was written"
    where = run.run_dir / LAST if run.run_dir else LAST
    return (f"the last finished epoch ({run.saved_epoch}) is in {where}; continue with "
            f"--resume {run.run_dir or 'RUN_DIR'}")


def stopped_by(run: Run, exc: BaseException) -> BaseException:
    """The exception to report for a run that stopped early, saying what was saved."""
    if isinstance(exc, KeyboardInterrupt):
        return KeyboardInterrupt(kept(run))
    if isinstance(exc, WriteError):  # a full disk, a folder made read-only: name the file and the last good epoch
        return SpeccError(f"{exc.message}; {kept(run)}", 2)
    if isinstance(exc, (MemoryError, RuntimeError)) and out_of_memory(exc):
        return SpeccError(f"out of memory while training ({first_line(exc)}); try a smaller --batch. {kept(run)}")
    return exc


def plot(run: Run, failing: bool) -> None:
    """curves.png from the history; a second Ctrl-C or a full disk while a run is already stopping skips it."""
    if not (run.world.main and run.history):
        return
    assert run.run_dir is not None  # rank 0 writes
    try:
        plot_curves(run.history, run.run_dir / "curves.png", f"{run.analysis.checked_model.name}: {run.run_dir}",
                    run.eng.task)
    except (KeyboardInterrupt, SpeccError):
        if not failing:
            raise


def record(epoch: int, lr: float, trained: EpochSums, held: EpochSums) -> dict[str, float]:
    """An epoch's row of metrics.jsonl: the losses, the task's metrics (train_*, val_*), lr and speed."""
    return {"epoch": epoch, "train_loss": trained.mean_loss,
            **{f"train_{k}": float(v) for k, v in trained.metrics.items()},  # plain floats: checkpoints hold no numpy
            "val_loss": held.mean_loss, **{f"val_{k}": float(v) for k, v in held.metrics.items()},
            "lr": lr, "seconds": trained.seconds,
            "images_per_s": trained.count / trained.seconds if trained.seconds else 0.0}


def better(task: Task, value: float, best: float) -> bool:
    """Whether ``value`` of the task's monitored column beats ``best`` (NaN never does)."""
    return value > best if task.higher else value < best


# The metrics where lower is better (besides the task's own monitor, whose direction the task says); every
# other column of the tasks' (accuracy, F1, mIoU, ROC AUC, R²) is better higher.
LOWER = frozenset({"loss", "mae", "rmse"})
# Columns that are no measure of quality: early stopping and plateau cannot watch them.
UNWATCHED = frozenset({"val_threshold"})


def watchable(task: Task) -> tuple[str, ...]:
    """The metrics columns `monitor=` may name for this task."""
    return tuple(c for c in ("train_loss", *(c for c in task.columns() if c.startswith("train_")), "val_loss",
                             *(c for c in task.columns() if c.startswith("val_"))) if c not in UNWATCHED)


def higher_better(task: Task, column: str) -> bool:
    """Whether a higher value of ``column`` is better (the task says for its monitor; losses and errors are not)."""
    return task.higher if column == task.monitor else column.split("_", 1)[-1] not in LOWER


def _shown(column: str, value: float) -> str:
    from .tasks import shown_value

    return shown_value(column.split("_", 1)[-1], value).strip()


def early_stop(run: Run) -> str | None:
    """Why the run stops here, before its last epoch: `patience` epochs in a row whose monitored metric did
    not improve on the best by more than min_delta (the counter comes from the history: resume continues it);
    None: it goes on. The line says which epoch best.pt holds."""
    cfg, task = run.cfg, run.eng.task
    if not cfg.patience or not run.history:
        return None
    monitor = cfg.monitor or task.monitor
    values = [float(r[monitor]) for r in run.history]
    waited, best = stalled(values, higher_better(task, monitor), cfg.min_delta)
    if waited < cfg.patience:
        return None
    by = f" by more than {cfg.min_delta:g}" if cfg.min_delta else ""
    since = f"{_shown(monitor, values[best - 1])} at epoch {best}" if best else "none finite"
    kept = (f"best.pt holds epoch {run.best_epoch} ({task.monitor} {_shown(task.monitor, run.best_score)})"
            if run.best_epoch else f"no best.pt was written ({task.monitor} was never finite)")
    return (f"stopped early after epoch {len(values)} of {cfg.epochs}: {monitor} did not improve{by} for "
            f"{waited} epochs (patience={cfg.patience}; best {since}); {kept}")


def finish_epoch(run: Run, entry: dict[str, float]) -> None:
    task = run.eng.task
    score = entry[task.monitor]
    improved = better(task, score, run.best_score)
    history = [*run.history, entry]
    best = (score, int(entry["epoch"])) if improved else (run.best_score, run.best_epoch)
    if run.world.main:
        save(run, history, best, improved)
    run.history, (run.best_score, run.best_epoch) = history, best
    run.saved_epoch = int(entry["epoch"])
    if run.world.main:
        assert run.run_dir is not None  # rank 0's
        write_metrics(run.run_dir, history, columns(task))
    run.progress.say(epoch_line(entry, run.cfg.epochs, improved, task.shown()))


def save(run: Run, history: list[dict[str, float]], best: tuple[float, int], improved: bool) -> None:
    assert run.run_dir is not None  # rank 0 saves
    net, eng, record, io = run.eng.net, run.eng, history[-1], spec_io(run.analysis)
    meta = CheckpointMeta(
        model_name=run.analysis.checked_model.name, spec_source=run.analysis.source,
        spec_sha256=spec_sha256(run.analysis.source), spec_path=str(run.spec_path),
        class_names=run.split.class_names, input_shape=list(channels_first(io.shape)),
        input_names=[e.name for e in io.inputs] or None,
        input_shapes=[list(channels_first(e.shape)) for e in io.inputs] or None, num_outputs=io.outputs,
        final_activation=run.analysis.final_activation, config=run.config, epoch=int(record["epoch"]),
        metrics={k: float(v) for k, v in record.items() if k != "epoch"})
    extra = {"history": history, "best": {"monitor": run.eng.task.monitor, "score": best[0], "epoch": best[1]},
             "rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state_all() if eng.device.type == "cuda" else [],
             "scaler": eng.scaler.state_dict() if eng.scaler is not None else None}
    last = run.run_dir / LAST
    save_checkpoint(last, net, meta, eng.optimizer, extra)
    run.saved_epoch = int(record["epoch"])
    if improved:  # a kill -9 during this copy leaves an older best.pt: export and resume detect it (checkpoint.pick)
        with open(last, "rb") as source:
            write_run_file(run.run_dir, BEST, lambda handle: shutil.copyfileobj(source, handle))


def stop_diverged(run: Run, epoch: int, lr: float, trained: EpochSums) -> None:
    value = "non-finite weights" if math.isfinite(trained.loss) else f"a {trained.mean_loss} loss"
    if run.saved_epoch:
        kept = f"the last good checkpoint is {(run.run_dir or Path('RUN_DIR')) / LAST} (epoch {run.saved_epoch})"
    else:
        kept = "no checkpoint was written (this was the first epoch)"
    raise SpeccError(f"training diverged in epoch {epoch} (lr {lr:g}): {value}; stopped, and {kept}. "
                     f"A smaller --lr usually helps")
