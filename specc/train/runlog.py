"""The run directory: where it goes and the plain files in it.

    RUN_DIR/config.json    the effective configuration and where each value came from
    RUN_DIR/spec.cnn       the spec as trained (also inside every checkpoint)
    RUN_DIR/metrics.jsonl  one JSON object per epoch
    RUN_DIR/metrics.csv    the same, as CSV
    RUN_DIR/curves.png     loss and accuracy per epoch
    RUN_DIR/last.pt        the latest epoch's checkpoint; best.pt: the best validation accuracy

Every file is rewritten whole and atomically, from the history the checkpoint
carries, so a resumed run's metrics never hold epochs its checkpoint lacks.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..checkpoint import LAST, write_atomic
from ..errors import SpeccError

COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "images_per_s")


def new_run_dir(out: Path | None, model_name: str) -> Path:
    """``--out`` as given (refusing one that already holds a run), else runs/<model>[-N]."""
    if out is not None:
        if (out / LAST).exists():
            raise SpeccError(f"'{out}' already holds a run; continue it with --resume {out} or choose another --out", 2)
        if out.exists() and not out.is_dir():
            raise SpeccError(f"--out '{out}' is a file, not a folder", 2)
        folder = out
    else:
        base = Path("runs") / model_name
        folder, n = base, 1
        while folder.exists():
            n += 1
            folder = base.with_name(f"{model_name}-{n}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpeccError(f"cannot create run directory '{folder}': {exc.strerror or exc}", 2) from exc
    return folder


def clean_stale(run_dir: Path) -> None:
    """Remove temporary files a killed run left half-written (the real files are intact)."""
    for stale in run_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def write_json(path: Path, value: Any) -> None:
    write_text(path, json.dumps(value, indent=2) + "\n")


def write_metrics(run_dir: Path, history: list[dict[str, float]]) -> None:
    write_text(run_dir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history))
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text(run_dir / "metrics.csv", table.getvalue())


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    """metrics.jsonl as a list of records (for tests and tools)."""
    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
