"""A trained model's task (spec-tasks §1) read without torch: from a run's config, a spec, or an
export's metadata; and what its output is, in the words the ONNX metadata's `output` key uses.

specc.training.tasks decides the task when a run starts and records it in the
checkpoint's config (`train.task`); this module reads that record back, and
reads a spec's task with training's rule (:mod:`specc.infer.tasks`: written
`train task=`, else read from the output: class scores are classify, a map of
the input's height and width is segment). `specc export` writes it into the
metadata and `specc predict` reads it from there, where onnxruntime runs
without torch.
"""

from __future__ import annotations

import math

from ..analysis import Analysis
from ..hyperparameters import TASKS
from ..infer.tasks import class_scores, read_task, segments

__all__ = ["TASKS", "class_scores", "is_pair", "is_segmenter_shape", "output_words", "read_from_spec", "recorded",
           "threshold"]


def _output(analysis: Analysis) -> tuple[int, ...]:
    return tuple(int(d or 0) for d in analysis.output or ())


def is_segmenter_shape(analysis: Analysis) -> bool:
    """An HxWxK map (K ≥ 2) of the input's H and W: a score per class and pixel."""
    return segments(_output(analysis), analysis.checked_model.input)


def is_pair(analysis: Analysis) -> bool:
    """Two inputs of one shape and one sigmoid unit: a Siamese pair network (training's ``embed.pair``)."""
    inputs = analysis.checked_model.inputs
    return (len(inputs) == 2 and tuple(inputs[0].shape or ()) == tuple(inputs[1].shape or ())
            and analysis.final_activation == "sigmoid" and class_scores(_output(analysis)) == 1)


def read_from_spec(analysis: Analysis) -> str | None:
    """The spec's task: its `train task=`, else read from the output as training reads it; None when neither."""
    return read_task(analysis.checked_model.train.get("task"), _output(analysis), analysis.checked_model.input)


def recorded(config: dict, analysis: Analysis) -> str | None:
    """The task a run trained, as its checkpoint's config records it; a run from before tasks was a classifier."""
    train = config.get("train") if isinstance(config.get("train"), dict) else None
    task = train.get("task") if train is not None else None
    if task in TASKS:
        return str(task)
    return "classify" if class_scores(_output(analysis)) is not None else read_from_spec(analysis)


def threshold(metrics: dict) -> float | None:
    """An embedding run's verification threshold: its best epoch's `val_threshold` (None when not finite)."""
    found = metrics.get("val_threshold")
    return float(found) if isinstance(found, (int, float)) and math.isfinite(found) else None


def output_words(task: str | None, analysis: Analysis, name: str) -> str:
    """The metadata's `output`: its kind before the colon (what `specc predict` reads), then in words.

    ``name`` is the exported output's: `probabilities` (the spec's forward) or `logits`."""
    final, model = analysis.final_activation, analysis.checked_model
    if len(model.outputs) > 1:
        return f"outputs: {', '.join(model.outputs)}, each as its layer gives it"
    before = f"before the final {final}" if final else "the last layer's output"
    if task == "segment":
        k = _output(analysis)[2]
        scores = f"a score for each of {k} classes at every pixel, (batch, {k}, H, W); the mask is their argmax " \
                 f"over dim 1"
        return f"probabilities: {final} over dim 1, {scores}" if name == "probabilities" else \
            f"logits: {before}, {scores}"
    if task == "regress":
        if name == "logits" and final:
            return f"logits: values {before}; apply the {final} to get them"
        after = f"after the final {final}" if final else "the last layer's output"
        return f"values: (batch, {class_scores(_output(analysis))}), {after}"
    if task == "embed" and not is_pair(analysis):
        d = class_scores(_output(analysis))
        words = (f"embeddings: (batch, {d}), not normalised; L2-normalise them and compare by distance "
                 f"(the same identity below the metadata's threshold)")
        return words if name == "probabilities" or not final else f"logits: embeddings {before}"
    if task == "embed":
        words = "the probability that the two inputs show the same identity (above the metadata's threshold)"
        return f"probabilities: sigmoid over dim 1, {words}" if name == "probabilities" else \
            f"logits: {before}, {words}"
    if name == "probabilities":
        return f"probabilities: {final} over dim 1"
    return f"logits: scores {before}" if final else "logits: the last layer's output"
