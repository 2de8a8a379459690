"""`specc val` as a library: a trained run's metrics on held-out data, with its figures.

    RUN_DIR ─checkpoint.load_model→ module ┐
    --data SOURCE ─sources.load, data.fit──┴→ verdicts ─→ accuracy, per class, confusion matrix
                                                        └→ val-confusion.png, val-misclassified.png

That is a classifier's; every other task (the one the run trained: spec-tasks §1) gives its
own metrics under the contract's names and its own pictures (specc.training.tasks).

Which samples are scored: the source's own validation or test part when it has
one (`x_val`, `test_set_x`, a `val/` folder); the run's held-out split (same
seed and fraction) when SOURCE is the data the run trained on and has none;
otherwise every sample of SOURCE (a test set). Imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import SpeccError
from ..escape import printable_line

PREFIX = "val-"


@dataclass(frozen=True)
class Evaluation:
    model: str
    weights: str  # which checkpoint, in words
    data: str  # the source
    samples: str  # which of its samples were scored, in words
    accuracy: float
    per_class: list[dict]  # {"class", "name", "samples", "correct", "accuracy", "precision", "recall", "f1"}
    confusion: list[list[int]]  # row = true class, column = predicted
    figures: list[Path]
    macro: dict = field(default_factory=dict)  # {"precision", "recall", "f1"}: the per-class means
    task: str = "classify"
    metrics: dict = field(default_factory=dict)  # another task's metrics, by spec-tasks' names
    rows: list[dict] = field(default_factory=list)  # another task's row per class or output

    def as_dict(self) -> dict:
        head = {"model": self.model, "weights": self.weights, "data": self.data, "samples": self.samples,
                "task": self.task}
        if self.task != "classify":
            return {**head, **self.metrics, "per_class" if self.task == "segment" else "per_output" if
                    self.task == "regress" else "pairs": self.rows, "figures": [str(p) for p in self.figures]}
        return {**head, "accuracy": self.accuracy, "per_class": self.per_class, "macro": self.macro,
                "confusion": self.confusion, "figures": [str(p) for p in self.figures]}


def evaluate(run: str | Path, data: str | None = None, resize: bool | None = None) -> Evaluation:
    """Score a run's best checkpoint (or a checkpoint file) on ``data`` (default: the run's own data)."""
    from ..runtime.checkpoint import load_checkpoint_model, resolve_checkpoint
    from ..training.review import class_names, plot_review, verdicts
    from ..training.setup import spec_io
    from ..training.tasks import of_run

    file = resolve_checkpoint(run)
    module, meta, analysis = load_checkpoint_model(file)
    io = spec_io(analysis)
    task = of_run(io, meta.config)
    source = data or meta.config.get("run", {}).get("data")
    if not source:
        raise SpeccError(f"'{file}' does not record its training data; pass --data SOURCE", 2)
    x, y, data_names, samples = _scored(source, meta.config, io, resize, task)
    if task.name != "classify":
        names = meta.class_names or data_names
        title = f"{meta.model_name} on {source} ({len(y):,} samples)"
        found = task.validate(module, x, y, names, file.parent, title, PREFIX)
        return Evaluation(meta.model_name, f"{file} (epoch {meta.epoch})", source, f"{samples}: {len(y):,}",
                          float(found.metrics.get("accuracy", float("nan"))), [], [], found.figures, {}, task.name,
                          found.metrics, found.rows)
    v = verdicts(module, x, y, io.binary, io.outputs)
    names = class_names(meta.class_names or data_names, v.classes)
    title = f"{meta.model_name} on {source}: accuracy {v.accuracy:.2%} ({len(v.y):,} samples)"
    figures = plot_review(v, x, names, file.parent, title, PREFIX)
    matrix = v.confusion()
    rows = _per_class(matrix, names)
    return Evaluation(meta.model_name, f"{file} (epoch {meta.epoch})", source, f"{samples}: {len(v.y):,}",
                      v.accuracy, rows, matrix.tolist(), figures, macro(rows))


def _scored(source: str, config: dict, io, resize: bool | None, task) -> tuple:
    """The samples to score (torch layout), their class names and which they are, in words."""
    from ..training.data import fit, want
    from ..training.sources import load

    trained, hyper = config.get("run", {}), config.get("train", {})
    seed, val = int(hyper.get("seed", 0)), float(hyper.get("val", 0.1))
    resize = trained.get("resize", False) if resize is None else resize
    loaded = load(source, want(io, seed, resize, task))
    if loaded.x_val is not None:
        samples = "the source's validation set"
    elif source == trained.get("data"):
        samples = f"the run's held-out split ({val:g} of the data, seed {seed})"
    else:  # a test set: every sample is scored, and it need not hold every class
        names = loaded.class_names or [str(k) for k in range(io.classes)]
        loaded, samples = replace(loaded, x_val=loaded.x, y_val=loaded.y, class_names=names), "every sample"
    split = fit(loaded, io, val, seed, task)
    return split.x_val, split.y_val, loaded.class_names, samples


def _per_class(matrix, names: list[str]) -> list[dict]:
    """Each class's row of the report. Recall is the class's accuracy (of its samples, those found);
    precision, of the samples predicted as the class, those that are; F1 their harmonic mean. A
    ratio with nothing to count is 0, as scikit-learn's ``zero_division=0`` has it."""
    rows = []
    for k, name in enumerate(names):
        total, right, predicted = int(matrix[k].sum()), int(matrix[k, k]), int(matrix[:, k].sum())
        precision, recall = _ratio(right, predicted), _ratio(right, total)
        rows.append({"class": k, "name": name, "samples": total, "correct": right,
                     "accuracy": right / total if total else None, "precision": precision, "recall": recall,
                     "f1": _ratio(2 * precision * recall, precision + recall)})
    return rows


def macro(rows: list[dict]) -> dict:
    """The unweighted means over the classes of precision, recall and F1 (scikit-learn's ``average="macro"``)."""
    return {key: sum(r[key] for r in rows) / len(rows) if rows else 0.0 for key in ("precision", "recall", "f1")}


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def text(e: Evaluation) -> str:
    """The report: accuracy, a per-class table, the figures written.

    Names from files (classes, the model's, paths) are shown with control characters written
    out, so a class folder named with a newline or an escape sequence cannot forge a row.
    """
    shown = printable_line
    if e.task != "classify":
        return _task_text(e)
    names = [shown(c["name"]) for c in e.per_class]
    width = max(len("class"), *map(len, names))
    lines = [f"{shown(e.model)}: {shown(e.weights)}", f"data      {shown(e.data)}, {shown(e.samples)}",
             f"accuracy  {e.accuracy:.2%}"]
    if e.macro:
        lines.append(f"macro     precision {e.macro['precision']:.1%}, recall {e.macro['recall']:.1%}, "
                     f"F1 {e.macro['f1']:.1%}")
    lines += ["", f"{'class':<{width}}  samples  correct  accuracy  precision  recall      F1"]
    for c, name in zip(e.per_class, names):
        score = "" if c["accuracy"] is None else f"{c['accuracy']:.1%}"
        lines.append(f"{name:<{width}}  {c['samples']:>7,}  {c['correct']:>7,}  {score:>8}  {c['precision']:>9.1%}"
                     f"  {c['recall']:>6.1%}  {c['f1']:>6.1%}")
    lines += ["", *(f"wrote {shown(str(p))}" for p in e.figures)]
    return "\n".join(lines)


def _task_text(e: Evaluation) -> str:
    """Another task's report: its metrics, a table of its rows (a class's IoU, an output's errors), the figures."""
    shown = printable_line
    width = max([9, *(len(name) for name in e.metrics)])
    lines = [f"{shown(e.model)}: {shown(e.weights)}", f"{'data':<{width}} {shown(e.data)}, {shown(e.samples)}",
             f"{'task':<{width}} {e.task}"]
    lines += [f"{name:<{width}} {_number(name, value)}" for name, value in e.metrics.items()
              if not isinstance(value, list)]
    if e.rows:
        keys = list(e.rows[0])
        cells = [[shown(str(row[k])) if not isinstance(row[k], float) else _number(k, row[k]) for k in keys]
                 for row in e.rows]
        widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
        lines += ["", "  ".join(f"{k:>{w}}" for k, w in zip(keys, widths))]
        lines += ["  ".join(f"{c:>{w}}" for c, w in zip(row, widths)) for row in cells]
    lines += ["", *(f"wrote {shown(str(p))}" for p in e.figures)]
    return "\n".join(lines)


def _number(name: str, value: object) -> str:
    if value is None:
        return "-"
    if not isinstance(value, (int, float)):
        return printable_line(str(value))
    return f"{value:.2%}" if name in ("accuracy", "pixel_accuracy", "miou", "iou") else f"{value:.4g}"
