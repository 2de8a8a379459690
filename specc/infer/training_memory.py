"""A training-memory estimate for one mini-batch, from a spec's Analysis. No torch.

What a training step holds at fp32 (4 bytes a value), the convention printed
with every estimate:

  parameters   weights and buffers (batchnorm running statistics)
  gradients    one value per trainable parameter
  optimizer    copies of the parameters the optimizer keeps: sgd 0, momentum 1
               (velocity), rmsprop 1 (squared-gradient average), adam 2 (both moments)
  activations  the tensors autograd keeps for backward, following the graph's
               edges: what each layer's backward reads of its inputs and of its own
               result, whoever else reads them, each tensor counted once however
               many layers keep it (see _kept_by)

What a layer keeps is declared with its kind (each ``Kind.keeps`` in
specc/kinds/, writing to the specc.kinds.saved ledger), as the code `specc
compile` writes does at training time: conv, convtranspose and fc their input
(or the padded copy uneven `padding=same` makes), batchnorm and the norms their
input and their statistics, max pooling its input and its int64 indices,
average pooling its input, dropout its mask, relu, sigmoid, tanh and softmax
their result, the other activations their input, multiply its operands; add,
concat, flatten, upsample, zeropad and global average pooling keep nothing. A
layer none of whose inputs needs a gradient and that has no parameters of its
own is not recorded at all. The loss is the task's (spec-tasks §1: `train
task=`, else what the output reads as; specc.infer.tasks): cross-entropy keeps its
log-probabilities (one value an output) and the labels — a class per sample, or
per pixel for segment — and the final softmax or sigmoid is not run in training
(logits); regress keeps the output and the targets; embed's triplet loss keeps
the encoding and its normalised copy, a few values a sample and, per pair of
samples in the batch, the distance matrix and its masked copies (batch² terms).
A layer the output does not depend on (W104, and what only it reads) is not
computed, so keeps nothing, unless it lies in a block instance that is called:
a block's class computes its own output whichever of its values the caller reads.

Not counted: temporaries of the backward pass, the framework's own workspace
(cuDNN, allocator caching) and the data set. tests/test_memory.py holds the
estimate against what torch really keeps (a saved-tensors hook and the
optimizer's state) within the tolerance stated there.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..analysis import Analysis, computed_layers
from ..hyperparameters import HYPERPARAMETERS, OPTIMIZER_STATE
from ..kinds import KINDS
from ..kinds.saved import FP32, INT64, Saved, size
from .tasks import read_task

OPTIMIZER_COPIES = OPTIMIZER_STATE
DEFAULT_OPTIMIZER = str(next(h.default for h in HYPERPARAMETERS if h.name == "optimizer"))  # specc train's default
CONVENTION = ("fp32; parameters + gradients + optimizer state ("
              + ", ".join(f"{name} {copies}" for name, copies in OPTIMIZER_STATE.items()) + " copies) "
              "+ activations kept for backward (what each layer's backward reads along the graph's edges: inputs, "
              "results, padded copies, max-pool indices, dropout masks, norm statistics, what the task's loss keeps; "
              "each tensor once) x batch; not counted: backward temporaries, "
              "framework workspace, the data")


@dataclass(frozen=True)
class Memory:
    """Bytes a training step holds, by part."""

    batch: int
    optimizer: str
    parameters: int
    gradients: int
    optimizer_state: int
    activations: int  # for the whole mini-batch
    task: str = "classify"  # whose loss is counted (spec-tasks §1)
    loss: str = "ce"

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state + self.activations

    def as_dict(self) -> dict:
        return {"batch": self.batch, "optimizer": self.optimizer, "dtype": "float32",
                "parameters_bytes": self.parameters, "gradients_bytes": self.gradients,
                "optimizer_state_bytes": self.optimizer_state, "activations_bytes": self.activations,
                "total_bytes": self.total, "task": self.task, "loss": self.loss, "convention": CONVENTION}


def optimizer_of(analysis: Analysis, override: str | None = None) -> str:
    """--optimizer, else the spec's `train optimizer=`, else specc train's default."""
    if override:
        return override
    written = analysis.model.train.get("optimizer") if analysis.model else None
    return written if written in OPTIMIZER_COPIES else DEFAULT_OPTIMIZER


def activation_bytes(analysis: Analysis, batch: int) -> int:
    """Bytes autograd keeps for ``batch`` samples (see the module docstring for what counts)."""
    layers = analysis.layers
    if not layers:
        return 0
    model = analysis.checked_model  # it has layers: a model was lowered
    task, loss = task_and_loss(analysis)
    # the loss reads the scores before the final activation, except a regression's or an encoder's
    tensors, final = Saved(), analysis.final_activation if loss not in ("mse", "mae", "huber", "triplet") else None
    tensors.shape[ir.INPUT] = model.input
    tensors.shape.update((i.name, i.shape) for i in model.inputs)
    live = computed_layers(layers, model.instances, model.outputs)  # what the generated forward computes
    # `share=`: a layer that shares weights needs their gradient, though it counts none of its own
    weighted = {r.layer.name for r in layers if r.params and r.layer.name in model.owners}
    for r in layers:
        if r.layer.name in live:
            _kept_by(r, tensors, final if r is layers[-1] else None, weighted)
    if len(model.outputs) == 1:  # several outputs have no loss yet: specc train takes one
        _kept_by_loss(next(r for r in reversed(layers) if r.layer.name == model.output), tensors, final, task, loss)
    return tensors.bytes(batch)


def task_and_loss(analysis: Analysis) -> tuple[str, str]:
    """The task specc train would train the spec for, and its loss (written, or the task's default)."""
    model = analysis.model
    train = model.train if model is not None else {}
    task = read_task(train.get("task"), analysis.output, model.input if model is not None else None) or "classify"
    written = train.get("loss")
    if isinstance(written, str):
        return task, written
    pair = model is not None and len(model.inputs) == 2 and analysis.final_activation == "sigmoid"
    return task, {"regress": "mse", "embed": "bce" if pair else "triplet"}.get(task, "ce")


def estimate(analysis: Analysis, batch: int, optimizer: str | None = None) -> Memory:
    """The estimate for ``batch`` samples; ``optimizer`` overrides the spec's."""
    name = optimizer_of(analysis, optimizer)
    t = analysis.totals
    return Memory(batch, name, FP32 * (t.params + t.buffers), FP32 * t.trainable_params,
                  FP32 * OPTIMIZER_COPIES[name] * t.trainable_params, activation_bytes(analysis, batch),
                  *task_and_loss(analysis))


def _kept_by(r, tensors: Saved, final: str | None, weighted: set[str]) -> None:
    """Record layer ``r``'s output tensor and what its backward keeps; ``final`` is stripped (logits).
    ``weighted``: the layers with parameters that others share (theirs are counted on the owner)."""
    layer, name, kind = r.layer, r.layer.name, KINDS[type(r.layer)]
    reads = [tensors.key(n) for n in layer.inputs]
    own = bool(r.params) or (layer.shares is not None and layer.shares.owner in weighted)
    needs_grad = own or any(tensors.grad.get(k, False) for k in reads)
    tensors.grad[name], tensors.shape[name] = needs_grad, r.output
    if kind.same_tensor(r, final) and reads:
        tensors.alias[name] = reads[0]
    elif needs_grad and r.output is not None and r.input is not None:
        kind.keeps(r, tensors, reads, final)


def _kept_by_loss(last, tensors: Saved, final: str | None, task: str = "classify", loss: str = "ce") -> None:
    """Cross-entropy keeps its log-probabilities and the int64 labels (a label per pixel for segment);
    one sigmoid output (binary cross-entropy, as specc train chooses) keeps the logit and a float label;
    a regression loss its output and the targets; the triplet loss what tasks.embed's computation keeps."""
    if last.output is None or not tensors.grad[last.layer.name]:
        return  # nothing to train: autograd records nothing
    output = tensors.key(last.layer.name)
    if loss in ("mse", "mae", "huber"):
        tensors.keep(output, size(last.output))
        tensors.keep("loss/targets", size(last.output))
        return
    if loss == "triplet":
        tensors.keep(output, size(last.output))  # the encoding, and its L2-normalised copy
        tensors.keep("loss/normalised", size(last.output))
        tensors.keep("loss/per-anchor", 5)  # norms, hardest positive and negative, the hinge; + a bool mask
        tensors.kept["loss/valid"] = 1
        tensors.per_pair += 2 * FP32 + INT64 + 1  # the distances, the hinge, each pair's negative; a mask
        return
    if final == "sigmoid" and size(last.output) == 1:
        logit = tensors.key(last.layer.name)
        tensors.keep(logit, 1)
        tensors.keep("loss/labels", 1)
    else:
        tensors.keep("loss/log-probabilities", size(last.output))
        pixels = size(last.output[:2]) if task == "segment" and len(last.output) == 3 else 1
        tensors.keep("loss/labels", pixels, INT64)
        tensors.per_batch += FP32  # the weight the mean divides by
