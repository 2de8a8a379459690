"""The run directory: where it goes and the plain files in it.

    RUN_DIR/config.json    the effective configuration and where each value came from
    RUN_DIR/spec.cnn       the spec as trained (also inside every checkpoint)
    RUN_DIR/metrics.jsonl  one JSON object per epoch: the losses and the task's metrics
    RUN_DIR/metrics.csv    the same, as CSV
    RUN_DIR/curves.png     loss and the task's main metric per epoch
    RUN_DIR/confusion.png, misclassified.png   a classifier's final weights on the validation data
                           (each task draws its own: specc.training.tasks)
    RUN_DIR/embedding.png  (embed) the held-out pairs' distances and the ROC curve
    RUN_DIR/last.pt        the latest epoch's checkpoint; best.pt: the task's best validation metric

Every file is rewritten whole and atomically, from the history the checkpoint
carries, so a resumed run's metrics never hold epochs its checkpoint lacks; a
symlink in the folder under one of these names is replaced, never written through
(:func:`specc.files.write_run_file`).
A folder that holds other files than these is not a run, and never written
into; RUN_DIR/.specc.lock keeps a second training out (specc.training.lock).
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SpeccError
from ..files import TEMP_SUFFIX, stat_of, write_run_file
from ..runtime.checkpoint import BEST, LAST
from .lock import LOCK, acquire, release

if TYPE_CHECKING:
    from .tasks import Task

# Every run's columns; the task's own (train_acc, val_miou, …) go between the losses and lr (columns()).
COLUMNS = ("epoch", "train_loss", "val_loss", "lr", "seconds", "images_per_s")
# What a run folder may hold; any other file means the folder is the user's, not a run, and is refused.
# What a run folder holds: training's own files, and what `specc val` writes there afterwards.
RUN_FILES = frozenset({"config.json", "spec.cnn", "metrics.jsonl", "metrics.csv", "curves.png", "confusion.png",
                       "misclassified.png", "val-confusion.png", "val-misclassified.png", "segmentation.png",
                       "val-segmentation.png", "embedding.png", "val-embedding.png", LAST, BEST, LOCK})


def new_run_dir(out: Path | None, model_name: str) -> tuple[Path, Path]:
    """The folder of a new run and its lock: ``--out`` (empty, new, or a run that never finished an epoch),
    else a new runs/<model>[-N]."""
    if out is None:
        folder = _fresh_folder(Path("runs") / model_name)
    else:
        found = stat_of(out, "--out ")
        if found is not None and not stat.S_ISDIR(found.st_mode):
            raise SpeccError(f"--out '{out}' is a file, not a folder", 2)
        if found is not None:
            refuse_foreign(out)
        _mkdir(out, exist_ok=True)
        folder = out
    lock = acquire(folder)
    try:
        refuse_foreign(folder)  # again, under the lock: another run may have started meanwhile
        clean_stale(folder)
    except BaseException:
        release(lock)
        raise
    return folder, lock


def _fresh_folder(base: Path) -> Path:
    """runs/<model>, else runs/<model>-2, ...: created here, so two runs never share one."""
    folder, n = base, 1
    while not _mkdir(folder, exist_ok=False):
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _mkdir(folder: Path, exist_ok: bool) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        return False
    except OSError as exc:
        raise SpeccError(f"cannot create run directory '{folder}': {exc.strerror or exc}", 2) from exc
    return True


def refuse_foreign(folder: Path) -> None:
    """Refuse a folder that holds a finished run (that is --resume's) or anything that is not a run's."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise SpeccError(f"cannot read run directory '{folder}': {exc.strerror or exc}", 2) from exc
    if LAST in names:
        raise SpeccError(f"'{folder}' already holds a run; continue it with --resume {folder} or choose another "
                         f"--out", 2)
    # `specc export RUN_DIR` writes RUN_DIR/MODEL.onnx: it belongs to the run too.
    foreign = [n for n in names if n not in RUN_FILES and not n.endswith(".onnx") and not _is_temp(n)]
    ours = [n for n in names if n in RUN_FILES and n != LOCK]
    if foreign or (ours and not _specc_config(folder / "config.json")):
        shown = ", ".join((foreign or ours)[:5]) + (", ..." if len(foreign or ours) > 5 else "")
        raise SpeccError(f"--out '{folder}' is not empty and is not a specc run (it holds {shown}); training would "
                         f"overwrite files there: choose a new or empty folder", 2)


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def _specc_config(path: Path) -> bool:
    """Whether config.json is one specc train wrote (then the folder is a run that never finished an epoch)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(value, dict) and "specc_version" in value and "spec_sha256" in value


def clean_stale(run_dir: Path) -> None:
    """Remove temporary files a killed run left half-written (the real files are intact).

    Called with the run's lock held, so no live run's temporary file is removed.
    """
    for stale in run_dir.glob(f".*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """A run file (a link of that name in the run is replaced, never written through: specc.files)."""
    write_run_file(path.parent, path.name, lambda handle: handle.write(text.encode("utf-8")))


def write_json(path: Path, value: Any) -> None:
    write_text(path, json.dumps(value, indent=2) + "\n")


def columns(task: Task) -> tuple[str, ...]:
    """metrics.csv's columns for a task: epoch, the losses and the task's metrics, lr, speed."""
    own = task.columns()
    trains = [c for c in own if c.startswith("train_")]
    vals = [c for c in own if c.startswith("val_")]
    return ("epoch", "train_loss", *trains, "val_loss", *vals, "lr", "seconds", "images_per_s")


def write_metrics(run_dir: Path, history: list[dict[str, float]], names: tuple[str, ...] = COLUMNS) -> None:
    write_text(run_dir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history))
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text(run_dir / "metrics.csv", table.getvalue())


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    """metrics.jsonl as a list of records (for tests and tools)."""
    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
