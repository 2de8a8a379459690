"""A training-memory estimate for one mini-batch, from a spec's Analysis. No torch.

What a training step holds at fp32 (4 bytes a value), the convention printed
with every estimate:

  parameters   weights and buffers (batchnorm running statistics)
  gradients    one value per trainable parameter
  optimizer    copies of the parameters the optimizer keeps: sgd 0, momentum 1
               (velocity), rmsprop 1 (squared-gradient average), adam 2 (both moments)
  activations  what autograd keeps for backward, per sample times the batch: the
               input and every layer's output (except one that no later step needs:
               followed by dropout, uneven padding, or a separate relu, sigmoid,
               tanh or softmax, which keep a mask, a padded copy or their result),
               the padded copy uneven `padding=same` makes, max pooling's int64
               indices and dropout's fp32 mask (as on the CPU; CUDA's fused kernel
               keeps one byte); flatten is a view

Not counted: temporaries of the backward pass, the framework's own workspace
(cuDNN, allocator caching) and the data set. tests/test_memory.py holds the
estimate against what torch really keeps (a saved-tensors hook and the
optimizer's state) within the tolerance stated there.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .pipeline import Analysis

FP32 = 4
RESULT_KEEPERS = ("relu", "sigmoid", "tanh", "softmax")  # backward needs their output only
OPTIMIZER_COPIES = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}
DEFAULT_OPTIMIZER = "adam"  # specc train's default (specc/train/config.py)
CONVENTION = ("fp32; parameters + gradients + optimizer state (sgd 0, momentum 1, rmsprop 1, adam 2 copies) "
              "+ activations kept for backward (input, layer outputs, padded copies, max-pool indices, dropout masks) "
              "x batch; not counted: backward temporaries, framework workspace, the data")


@dataclass(frozen=True)
class Memory:
    """Bytes a training step holds, by part."""

    batch: int
    optimizer: str
    parameters: int
    gradients: int
    optimizer_state: int
    activations: int  # for the whole mini-batch

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state + self.activations

    def as_dict(self) -> dict:
        return {"batch": self.batch, "optimizer": self.optimizer, "dtype": "float32",
                "parameters_bytes": self.parameters, "gradients_bytes": self.gradients,
                "optimizer_state_bytes": self.optimizer_state, "activations_bytes": self.activations,
                "total_bytes": self.total, "convention": CONVENTION}


def optimizer_of(analysis: Analysis, override: str | None = None) -> str:
    """--optimizer, else the spec's `train optimizer=`, else specc train's default."""
    if override:
        return override
    written = analysis.model.train.get("optimizer") if analysis.model else None
    return written if written in OPTIMIZER_COPIES else DEFAULT_OPTIMIZER


def activation_bytes_per_sample(analysis: Analysis) -> int:
    """Bytes autograd keeps for one sample (see the module docstring for what counts)."""
    model, layers = analysis.model, analysis.layers
    first = layers[0] if layers else None
    total = FP32 * _size(model.input) if model and model.input and not _frees_input(first) else 0
    for r, after in zip(layers, (*layers[1:], None)):
        if isinstance(r.layer, ir.Flatten):
            continue  # a view of its input
        values = r.activations or 0
        kept = values if _keeps_result(r) or not _frees_input(after) else 0
        total += FP32 * (kept + _padded_copy(r))
        if isinstance(r.layer, ir.Pool) and r.layer.op == "max":
            total += 8 * values  # the argmax indices, int64
        elif isinstance(r.layer, ir.Dropout):
            total += FP32 * values  # the scaled keep mask, fp32 on the CPU
    return total


def estimate(analysis: Analysis, batch: int, optimizer: str | None = None) -> Memory:
    """The estimate for ``batch`` samples; ``optimizer`` overrides the spec's."""
    name = optimizer_of(analysis, optimizer)
    t = analysis.totals
    return Memory(batch, name, FP32 * (t.params + t.buffers), FP32 * t.trainable_params,
                  FP32 * OPTIMIZER_COPIES[name] * t.trainable_params,
                  batch * activation_bytes_per_sample(analysis))


def _keeps_result(r) -> bool:
    """relu, sigmoid, tanh and softmax keep their own output for backward."""
    function = getattr(r.layer, "function", None) or getattr(r.layer, "activation", None)
    return function in RESULT_KEEPERS


def _frees_input(r) -> bool:
    """Whether the next layer ``r`` keeps no copy of its input (it keeps its result, a mask or a padded copy)."""
    if r is None:
        return False
    return (isinstance(r.layer, ir.Dropout) or _padded_copy(r) > 0
            or (isinstance(r.layer, ir.Activation) and r.layer.function in RESULT_KEEPERS))


def _padded_copy(r) -> int:
    """Values of the padded copy of the input that uneven `padding=same` makes (and the layer keeps)."""
    pads = r.pads
    if pads is None or r.input is None or len(r.input) != 3 or (pads[0] == pads[1] and pads[2] == pads[3]):
        return 0
    h, w, c = r.input
    return (h + pads[0] + pads[1]) * (w + pads[2] + pads[3]) * c


def _size(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d or 0
    return n
