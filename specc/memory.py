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

What a layer keeps, as the code `specc compile` writes does at training time:
conv, convtranspose and fc their input (or the padded copy uneven
`padding=same` makes), batchnorm and the norms their input and their
statistics, max pooling its input and its int64 indices, average pooling its
input, dropout its mask (fp32, as on the CPU; CUDA's fused kernel keeps one
byte), relu, sigmoid, tanh and softmax their result, the other activations
their input, multiply its operands; add, concat, flatten, upsample, zeropad
and global average pooling keep nothing. A layer none of whose inputs needs a
gradient and that has no parameters of its own is not recorded at all. The
loss keeps its log-probabilities (one value an output) and the labels; the
final softmax or sigmoid is not run in training (logits). A layer the output
does not depend on (W104, and what only it reads) is not computed, so keeps
nothing.

Not counted: temporaries of the backward pass, the framework's own workspace
(cuDNN, allocator caching) and the data set. tests/test_memory.py holds the
estimate against what torch really keeps (a saved-tensors hook and the
optimizer's state) within the tolerance stated there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import ir
from .analysis import Analysis, reaching
from .shapes_kinds import transposed_same

FP32, INT64 = 4, 8
RESULT_KEEPERS = ("relu", "sigmoid", "tanh", "softmax")  # backward needs their output only
IDENTITIES = (ir.Flatten,)  # a view: the same storage as its input
OPTIMIZER_COPIES = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}
DEFAULT_OPTIMIZER = "adam"  # specc train's default (specc/train/config.py)
CONVENTION = ("fp32; parameters + gradients + optimizer state (sgd 0, momentum 1, rmsprop 1, adam 2 copies) "
              "+ activations kept for backward (what each layer's backward reads along the graph's edges: inputs, "
              "results, padded copies, max-pool indices, dropout masks, norm statistics, the loss's "
              "log-probabilities; each tensor once) x batch; not counted: backward temporaries, "
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

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state + self.activations

    def as_dict(self) -> dict:
        return {"batch": self.batch, "optimizer": self.optimizer, "dtype": "float32",
                "parameters_bytes": self.parameters, "gradients_bytes": self.gradients,
                "optimizer_state_bytes": self.optimizer_state, "activations_bytes": self.activations,
                "total_bytes": self.total, "convention": CONVENTION}


class _Tensors:
    """The forward pass's tensors by key (a layer's name, or `name/what` for one it makes inside),
    whether each needs a gradient, and the bytes autograd keeps of each: per sample, and per batch."""

    def __init__(self) -> None:
        self.alias: dict[str, str] = {}  # a layer whose output is another's tensor (flatten, linear)
        self.grad: dict[str, bool] = {ir.INPUT: False}
        self.shape: dict[str, tuple | None] = {}  # each layer's output shape, by its name (and the input's)
        self.kept: dict[str, int] = {}  # key -> bytes per sample; a key kept twice is one tensor
        self.per_batch = 0  # batchnorm's statistics (per channel) and the loss's weight, whatever the batch

    def key(self, name: str) -> str:
        return self.alias.get(name, name)

    def keep(self, key: str, values: int, width: int = FP32) -> None:
        self.kept[key] = width * values

    def bytes(self, batch: int) -> int:
        return batch * sum(self.kept.values()) + self.per_batch


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
    tensors, final = _Tensors(), analysis.final_activation
    tensors.shape[ir.INPUT] = analysis.model.input
    live = reaching(layers, [layers[-1].layer.name])  # the generated forward computes nothing else
    for r in layers:
        if r.layer.name in live:
            _kept_by(r, tensors, final if r is layers[-1] else None)
    _kept_by_loss(layers[-1], tensors, final)
    return tensors.bytes(batch)


def estimate(analysis: Analysis, batch: int, optimizer: str | None = None) -> Memory:
    """The estimate for ``batch`` samples; ``optimizer`` overrides the spec's."""
    name = optimizer_of(analysis, optimizer)
    t = analysis.totals
    return Memory(batch, name, FP32 * (t.params + t.buffers), FP32 * t.trainable_params,
                  FP32 * OPTIMIZER_COPIES[name] * t.trainable_params, activation_bytes(analysis, batch))


def _kept_by(r, tensors: _Tensors, final: str | None) -> None:
    """Record layer ``r``'s output tensor and what its backward keeps; ``final`` is stripped (logits)."""
    layer, name = r.layer, r.layer.name
    reads = [tensors.key(n) for n in layer.inputs]
    needs_grad = bool(r.params) or any(tensors.grad.get(k, False) for k in reads)
    tensors.grad[name], tensors.shape[name] = needs_grad, r.output
    if _is_identity(r, final) and reads:
        tensors.alias[name] = reads[0]
    elif needs_grad and r.output is not None and r.input is not None:
        _KEEPERS.get(type(layer), _keeps_nothing)(r, tensors, reads, final)


def _is_identity(r, final: str | None) -> bool:
    """A layer that hands on its input's tensor: a view, the identity, or a final activation not run."""
    layer = r.layer
    if isinstance(layer, ir.Activation):
        return layer.function == "linear" or final is not None
    return isinstance(layer, IDENTITIES) or (isinstance(layer, ir.Dropout) and layer.rate == 0)


def _weighted(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    """conv, dwconv, convtranspose, fc: the input for the weights' gradient, then the activation's own."""
    name = r.layer.name
    padded = _padded_input(r)
    if padded is None:
        tensors.keep(reads[0], _size(r.input))
    else:
        tensors.keep(f"{name}/pad", padded)
    function = None if final else r.layer.activation
    if function in RESULT_KEEPERS:
        tensors.keep(name, _size(r.output))
    elif function not in (None, "linear"):
        tensors.keep(f"{name}/{function}", _size(r.output))  # the pre-activation, a tensor of its own


def _activation(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    if r.layer.function in RESULT_KEEPERS:
        tensors.keep(r.layer.name, _size(r.output))
    else:
        tensors.keep(reads[0], _size(r.input))


def _pool(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    padded = _padded_input(r)
    if padded is None:
        tensors.keep(reads[0], _size(r.input))
    else:
        tensors.keep(f"{r.layer.name}/pad", padded)
    if r.layer.op == "max":
        tensors.keep(f"{r.layer.name}/indices", _size(r.output), INT64)


def _global_pool(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    if r.layer.op == "max":  # average pooling's backward needs only the input's shape
        tensors.keep(reads[0], _size(r.input))
        tensors.keep(f"{r.layer.name}/indices", _size(r.output), INT64)


def _batchnorm(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    tensors.keep(reads[0], _size(r.input))
    tensors.per_batch += 2 * FP32 * r.input[-1]  # the batch's mean and inverse deviation per channel


def _norm(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    """The input, and per sample a mean and inverse deviation per group (instancenorm: per channel,
    plus its scale repeated per sample when it learns one)."""
    layer, channels = r.layer, r.input[-1]
    tensors.keep(reads[0], _size(r.input))
    statistics = {"group": 2 * layer.groups, "layer": 2, "instance": (3 if layer.affine else 2) * channels}
    tensors.keep(f"{layer.name}/statistics", statistics[layer.op])


def _dropout(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    tensors.keep(f"{r.layer.name}/mask", _size(r.output))  # the scaled keep mask; the input is not kept


def _multiply(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    """a * b * c is (a * b) * c: each product keeps either side for the other's gradient."""
    shapes = [tensors.shape.get(n) or r.output for n in r.layer.inputs]
    product, grad, shape = reads[0], tensors.grad.get(reads[0], False), shapes[0]
    for step, (operand, operand_shape) in enumerate(zip(reads[1:], shapes[1:]), 1):
        operand_grad = tensors.grad.get(operand, False)
        if grad:
            tensors.keep(operand, _size(operand_shape))
        if operand_grad:
            tensors.keep(product, _size(shape))
        product, grad = f"{r.layer.name}/product{step}", grad or operand_grad
        shape = tuple(map(max, shape, operand_shape)) if len(shape) == len(operand_shape) else r.output


def _keeps_nothing(r, tensors: _Tensors, reads: list[str], final: str | None) -> None:
    """add, concat, upsample, zeropad: their backward needs only shapes."""


_KEEPERS = {ir.Conv: _weighted, ir.DepthwiseConv: _weighted, ir.ConvTranspose: _weighted, ir.Dense: _weighted,
            ir.Activation: _activation, ir.Pool: _pool, ir.GlobalPool: _global_pool, ir.BatchNorm: _batchnorm,
            ir.Norm: _norm, ir.Dropout: _dropout, ir.Multiply: _multiply}


def _kept_by_loss(last, tensors: _Tensors, final: str | None) -> None:
    """Cross-entropy keeps its log-probabilities and the int64 labels; one sigmoid output
    (binary cross-entropy, as specc train chooses) keeps the logit and a float label."""
    if last.output is None or not tensors.grad[last.layer.name]:
        return  # nothing to train: autograd records nothing
    if final == "sigmoid" and _size(last.output) == 1:
        logit = tensors.key(last.layer.name)
        tensors.keep(logit, 1)
        tensors.keep("loss/labels", 1)
    else:
        tensors.keep("loss/log-probabilities", _size(last.output))
        tensors.keep("loss/labels", 1, INT64)
        tensors.per_batch += FP32  # the weight the mean divides by


def _padded_input(r) -> int | None:
    """Values of the padded copy the generated code makes before the layer (which keeps it), else None.

    As specc.codegen.emit does: a pad module before uneven `padding=same`, before a 1-D or 3-D
    pooling with any padding, and before convtranspose's `same` that crops a row at stride 1.
    """
    layer, pads = r.layer, r.pads
    if isinstance(layer, ir.ConvTranspose):
        if layer.padding != "same":
            return None
        crop = [transposed_same(k, s, d)[2] for k, s, d in zip(layer.kernel, layer.stride, layer.dilation)]
        return _size((*(n + c for n, c in zip(r.input[:-1], crop)), r.input[-1])) if any(crop) else None
    if pads is None or not isinstance(layer, ir.Conv | ir.Pool):
        return None
    uneven = layer.padding == "same" and pads[0::2] != pads[1::2]
    if not (uneven or (isinstance(layer, ir.Pool) and len(r.input) != 3 and any(pads))):
        return None
    return _size((*(n + b + a for n, b, a in zip(r.input[:-1], pads[0::2], pads[1::2])), r.input[-1]))


def _size(shape: tuple | None) -> int:
    return math.prod(d or 0 for d in shape) if shape else 0
