"""`--resume`: which checkpoint continues a run, and whether what it carries can be trusted.

A run continues from its latest state only: ``--resume`` takes the run folder
or its last.pt, never best.pt or a copy (resuming from an older epoch would
rewrite the run's metrics and checkpoints backwards), and a last.pt older
than the run's own metrics is refused. Only the weights and the spec carry a
sha256; the rest of the training state (configuration, history, best score)
is checked here field by field, so a damaged one is refused with a message
instead of failing half-way through the restore.
"""

from __future__ import annotations

import json
import math
import shutil
import stat
from pathlib import Path
from typing import Any

from ..errors import SpeccError
from ..files import stat_of, write_run_file
from ..runtime.checkpoint import BEST, LAST, CheckpointMeta, peek
from .config import TrainConfig
from .runlog import COLUMNS


def checkpoint_of(resume: Path) -> Path:
    """``--resume RUN_DIR`` or ``RUN_DIR/last.pt`` -> that last.pt; anything else is refused (status 2)."""
    found = stat_of(resume, "--resume ")
    if found is None:
        raise SpeccError(f"--resume {resume}: no such run directory or file", 2)
    if stat.S_ISDIR(found.st_mode):
        if not (resume / LAST).is_file():
            raise SpeccError(f"--resume {resume}: the folder holds no {LAST} (no epoch of a run finished there); "
                             f"start the run afresh with --out {resume}", 2)
        return resume / LAST
    if resume.name != LAST:
        why = (f"{BEST} is the best epoch, not the latest: resuming from it would throw away the epochs after it"
               if resume.name == BEST else "a run continues from its latest checkpoint only")
        raise SpeccError(f"--resume takes a run directory or its {LAST}, not '{resume}': {why}; "
                         f"use --resume {resume.parent}", 2)
    return resume


def refuse_backwards(checkpoint: Path, meta: CheckpointMeta) -> None:
    """Refuse a last.pt older than the metrics its run already wrote (it would rewind the run)."""
    recorded = _last_logged_epoch(checkpoint.parent / "metrics.jsonl")
    if recorded is not None and recorded > meta.epoch:
        raise SpeccError(f"--resume: {checkpoint} holds epoch {meta.epoch}, but the run's metrics.jsonl already "
                         f"reaches epoch {recorded}; resuming would move the run backwards. Was {LAST} replaced "
                         f"by an older copy?", 2)


def _last_logged_epoch(path: Path) -> int | None:
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return int(json.loads(lines[-1])["epoch"]) if lines else None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # no readable metrics: nothing to compare with


def check_state(path: Path, meta: CheckpointMeta, extra: Any) -> None:
    """The unhashed training state of a checkpoint has the types and values resume relies on."""
    problem = _config_problem(meta.config) or _progress_problem(meta.epoch, extra)
    if problem:
        raise SpeccError(f"--resume: {path}'s training state is damaged ({problem}); it cannot be continued. "
                         f"Its weights are intact: `specc export {path}` still works")


def _config_problem(config: dict) -> str | None:
    train, run = config.get("train"), config.get("run", {})
    if not isinstance(train, dict):
        return "its config has no `train` settings"
    try:
        TrainConfig(**train)
    except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        return f"its `train` settings do not validate: {str(exc).splitlines()[0]}"
    if not isinstance(config.get("origins", {}), dict) or not isinstance(run, dict):
        return "its config's `origins` or `run` is not a mapping"
    if not isinstance(run.get("data", ""), str) or not isinstance(run.get("resize", False), bool):
        return "its config's `run.data` or `run.resize` has the wrong type"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _progress_problem(epoch: int, extra: Any) -> str | None:
    if not isinstance(extra, dict):
        return "its `extra` part is not a mapping"
    history, best = extra.get("history", []), extra.get("best", {})
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        return "its history is not a list of records"
    for index, record in enumerate(history, 1):
        if not all(_number(record.get(k)) for k in COLUMNS) or record["epoch"] != index:
            return f"history record {index} lacks a field or has one of the wrong type"
    if len(history) != epoch:
        return f"its history has {len(history)} epochs but the checkpoint says {epoch}"
    if not isinstance(best, dict) or not _number(best.get("val_acc", -1.0)) or \
            not isinstance(best.get("epoch", 0), int) or not 0 <= best.get("epoch", 0) <= epoch:
        return "its best score is not a (val_acc, epoch) record of this run"
    if history and not all(math.isfinite(r["train_loss"]) for r in history):
        return "its history holds a non-finite training loss"
    return None


def repair_best(folder: Path) -> str | None:
    """Copy last.pt to best.pt when last.pt is the best epoch and best.pt is older (an interrupted copy)."""
    recorded = peek(folder / LAST)
    if recorded is None or recorded[0] != recorded[1]:
        return None
    best = folder / BEST
    found = peek(best) if best.is_file() else None
    if found is not None and found[0] == recorded[0]:
        return None
    with open(folder / LAST, "rb") as source:
        write_run_file(folder, BEST, lambda handle: shutil.copyfileobj(source, handle))
    return f"{best} did not hold the run's best epoch ({recorded[0]}); restored it from {LAST}"
