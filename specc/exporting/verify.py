"""Proof that a saved .onnx file computes what the PyTorch module computes.

Every export runs all of it before the file takes its final name:
  self-contained   no initializer refers to external data (one file, nothing beside it)
  valid            ``onnx.checker.check_model(full_check=True)``
  shapes           ONNX shape inference, run afresh, gives the spec's output shape
                   (a symbolic batch dimension where the batch is not fixed)
  same numbers     onnxruntime (CPUExecutionProvider) against the eval-mode module on
                   seeded inputs in [0, 1) at each batch size; largest |difference| <= atol
                   per unit of the largest |output| (atol itself for outputs within [-1, 1]),
                   or, where float32 itself is not that exact (an ill-conditioned norm),
                   onnxruntime as close to a float64 run as PyTorch's float32 is, within atol
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnx
import torch

from ..errors import SpeccError, first_line
from .graph import INPUT_NAME, Graph

VERIFY_SEED = 20240101  # fixed, so a failing comparison can be reproduced
Dims = tuple[int | str | None, ...]
SMALL_CONSTANT = 64  # elements: shape tensors and scalars stay initializers during shape inference


def verify(path: Path, graph: Graph, module: Callable[..., torch.Tensor],
           batches: Sequence[int], atol: float) -> dict[int, float]:
    """Check the file at ``path``; the largest absolute difference per batch size."""
    model = onnx.load(str(path), load_external_data=False)
    check_self_contained(model)
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise SpeccError(f"the exported graph is not valid ONNX: {first_line(exc)}") from exc
    check_shapes(model, graph)
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return {batch: compare(session, graph, module, batch, atol) for batch in batches}


def check_self_contained(model: onnx.ModelProto) -> None:
    external = [t.name for t in model.graph.initializer if onnx.external_data_helper.uses_external_data(t)]
    if external:
        raise SpeccError(f"the exported file refers to external data for {len(external)} tensors "
                         f"({external[0]}, ...); it would not be self-contained")


def dims(value: onnx.ValueInfoProto) -> Dims:
    """A value's dimensions: ints, names of symbolic ones, None where unknown."""
    shape = value.type.tensor_type.shape
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in shape.dim)


def inferred_output(model: onnx.ModelProto, name: str) -> Dims:
    """The output's shape as ONNX shape inference derives it, ignoring what the exporter declared."""
    inferred = onnx.shape_inference.infer_shapes(_shapes_only(model), check_type=True, strict_mode=True,
                                                 data_prop=True)
    found = [o for o in inferred.graph.output if o.name == name]
    return dims(found[0]) if found and found[0].type.tensor_type.HasField("shape") else ()


def _shapes_only(model: onnx.ModelProto) -> onnx.ModelProto:
    """The graph without declared shapes, its large weights turned into typed inputs (no bytes copied).

    Shape inference needs only their shapes; small constants keep their values
    because data propagation reads them (a Reshape's target shape).
    """
    small = [t for t in model.graph.initializer if _elements(t) <= SMALL_CONSTANT]
    weights = [onnx.helper.make_tensor_value_info(t.name, t.data_type, t.dims)
               for t in model.graph.initializer if _elements(t) > SMALL_CONSTANT]
    outputs = [onnx.helper.make_tensor_value_info(o.name, o.type.tensor_type.elem_type, None)
               for o in model.graph.output]
    graph = onnx.helper.make_graph(model.graph.node, model.graph.name, [*model.graph.input, *weights], outputs,
                                   small)
    return onnx.helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version,
                                  functions=model.functions)


def _elements(tensor: onnx.TensorProto) -> int:
    count = 1
    for d in tensor.dims:
        count *= d
    return count


def matches(found: Dims, expected: tuple[int | str, ...]) -> bool:
    """Equal dimensions; a symbolic expected dimension (str) matches any symbolic one."""
    if len(found) != len(expected):
        return False
    return all(isinstance(f, str) if isinstance(e, str) else f == e for f, e in zip(found, expected))


def check_shapes(model: onnx.ModelProto, graph: Graph) -> None:
    for declared, (name, shape) in zip(model.graph.input, _inputs(graph)):
        if declared.name != name or not matches(dims(declared), shape):
            raise SpeccError(f"the exported input is {declared.name} {_show(dims(declared))}, "
                             f"expected {name} {_show(shape)}")
    if [o.name for o in model.graph.output] != [name for name, _ in _outputs(graph)]:
        raise SpeccError(f"the exported outputs are {', '.join(o.name for o in model.graph.output)}, expected "
                         f"{', '.join(name for name, _ in _outputs(graph))}")
    for value, (name, shape) in zip(model.graph.output, _outputs(graph)):
        declared, inferred = dims(value), inferred_output(model, name)
        for how, found in (("declares", declared), ("infers", inferred)):
            if not matches(found, shape):
                raise SpeccError(f"ONNX {how} the output shape {_show(found)} for {name}, but the spec's output "
                                 f"is {_show(shape)}")


def compare(session, graph: Graph, module: Callable[..., torch.Tensor],
            batch: int, atol: float) -> float:
    """Run both on the same seeded batch; the largest absolute difference."""
    rng = np.random.default_rng(VERIFY_SEED + batch)
    feed = {name: rng.random((batch, *(int(d) for d in shape[1:])), dtype=np.float32) for name, shape in _inputs(graph)}
    names = [name for name, _ in _outputs(graph)]
    found = session.run(names, feed)
    x = tuple(feed.values())
    with torch.inference_mode():
        result = module(*map(torch.from_numpy, x))
    wanted = [t.numpy() for t in (result if isinstance(result, tuple) else (result,))]
    if len(wanted) != len(names):
        raise SpeccError(f"PyTorch returns {len(wanted)} outputs, the file {len(names)}")
    return max(_compare(got, want, module, x, batch, atol, i if len(names) > 1 else None)
               for i, (got, want) in enumerate(zip(found, wanted)))


def _compare(got: np.ndarray, want: np.ndarray, module: Callable[..., torch.Tensor], x: tuple[np.ndarray, ...],
             batch: int, atol: float, index: int | None) -> float:
    """One output (``index`` of forward's tuple; None for the one output): the largest absolute difference."""
    if got.shape != want.shape:
        raise SpeccError(f"at batch {batch} onnxruntime gives shape {got.shape}, PyTorch {want.shape}")
    if not np.isfinite(want).all():
        raise SpeccError(f"PyTorch's output at batch {batch} holds NaN or infinity; nothing to compare against")
    diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    # float32 rounding grows with the values: logits of 30 carry 30 times the rounding of probabilities
    scale = max(1.0, float(np.max(np.abs(want))))
    if not diff <= atol * scale and not _as_exact_as_pytorch(got, want, module, x, atol * scale, index):
        per = f" ({atol:g} per unit of the largest output, {scale:.3g})" if scale > 1 else ""
        raise SpeccError(f"onnxruntime and PyTorch disagree at batch {batch}: largest absolute difference "
                         f"{diff:.3g} > {atol * scale:g}{per}; the exported file is not trustworthy and was not "
                         f"written")
    return diff


def _as_exact_as_pytorch(got: np.ndarray, want: np.ndarray, module: Callable[..., torch.Tensor],
                         x: tuple[np.ndarray, ...], tolerance: float, index: int | None = None) -> bool:
    """Whether onnxruntime is as close to the exact result as PyTorch's own float32 is.

    Some functions are ill-conditioned in float32: a group norm over six values
    of which five are equal (a max pool's overlapping windows) divides float32
    rounding by a tiny variance, and two correct implementations then differ by
    more than ``tolerance``. Asked only when the plain comparison fails: a float64
    copy of the module gives the exact result, and onnxruntime passes if its
    distance to it is within ``tolerance`` plus twice PyTorch's own float32 error
    on the same inputs. A module that computes another function stays far off.
    """
    if not isinstance(module, torch.nn.Module) or not np.isfinite(got).all():
        return False
    exact = copy.deepcopy(module).double()
    with torch.inference_mode():
        result = exact(*(torch.from_numpy(v).double() for v in x))
        reference = (result if index is None else result[index]).numpy()
    pytorch_error = float(np.max(np.abs(want.astype(np.float64) - reference)))
    onnx_error = float(np.max(np.abs(got.astype(np.float64) - reference)))
    return onnx_error <= tolerance + 2 * pytorch_error


def _inputs(graph: Graph) -> tuple[tuple[str, tuple[int | str, ...]], ...]:
    """The inputs the file must declare, in order: each named and shaped."""
    return graph.inputs or ((INPUT_NAME, graph.input_shape),)


def _outputs(graph: Graph) -> tuple[tuple[str, tuple[int | str, ...]], ...]:
    """The outputs the file must declare, in order: each named and shaped."""
    return graph.outputs or ((graph.output_name, graph.output_shape),)


def _show(shape: Sequence) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
