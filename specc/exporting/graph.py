"""PyTorch module to one self-contained ONNX ModelProto, with specc's metadata.

Uses the dynamo exporter (``torch.onnx.export(..., dynamo=True)``), the
default of torch 2.9+: the TorchScript exporter is deprecated and due to be
removed, and the dynamo graph is smaller (the optimiser folds padding=same's F.pad and
batchnorm into the convolutions: specs/mobilenet-block.cnn 18 nodes against 72). It
implements opset 18 and newer only; lower requests would silently fall back to
18, so :data:`MIN_OPSET` is 18 and the opset in the result is checked. The
ModelProto is taken in memory and saved by the caller with every weight inline:
no external-data side file.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import onnx
import torch

from ..errors import SpeccError, first_line, first_sentence
from ..ir import channels_first
from ..kinds.emitting import known
from ..version import __version__
from .adaptive import exportable
from .names import name_nodes
from .options import MIN_OPSET
from .source import Source
from .task import output_words

INPUT_NAME = "input"
BATCH_DIM = "batch"
# The loggers the exporter chats on (torchvision missing, opset conversion), silenced during export.
_NOISY_LOGGERS = ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "onnx_ir")


def max_opset() -> int:
    """The newest opset the installed onnx package knows."""
    return onnx.defs.onnx_opset_version()


@dataclass(frozen=True)
class Graph:
    """What :func:`to_onnx` made and the names and shapes the verifier checks against."""

    proto: onnx.ModelProto
    input_shape: tuple[int | str, ...]  # (batch, C, H, W) or (batch, F); batch is "batch" when symbolic
    output_name: str
    output_shape: tuple[int | str, ...]
    # every input, named after its label, in forward's order; a spec of one input: (("input", input_shape),)
    inputs: tuple[tuple[str, tuple[int | str, ...]], ...] = ()
    # every output, in forward's order: named after its label where an `output` line names them;
    # (): the one output, (output_name, output_shape)
    outputs: tuple[tuple[str, tuple[int | str, ...]], ...] = ()


def output_names(source: Source, logits: bool) -> list[str]:
    """The ONNX outputs' names: the labels an `output` line names (spec-io §2), else `probabilities` or
    `logits`, as before."""
    model = source.analysis.checked_model
    return list(model.outputs) if model.declared_outputs else [output_name(source, logits)]


def output_name(source: Source, logits: bool) -> str:
    return "probabilities" if source.analysis.final_activation and not logits else "logits"


def entry(source: Source, logits: bool) -> torch.nn.Module:
    """The module whose forward is exported: the spec's forward, or its logits.

    For logits, a shallow copy whose class calls ``logits`` as its forward: it shares
    the weights, and the ONNX initializers keep the state_dict's names (``conv1.weight``,
    not a wrapper's ``model.conv1.weight``). Without a final activation, logits is
    forward (and calls it), so the module itself is exported.
    """
    if not logits or not source.analysis.final_activation:
        return source.module
    cls = type(source.module)
    # the generated class defines logits (specc.codegen); nn.Module's type does not
    logits_class = type(f"{cls.__name__}Logits", (cls,), {"forward": cls.logits,  # type: ignore[attr-defined]
                                                          "__module__": cls.__module__})
    clone = copy.copy(source.module)
    clone.__class__ = logits_class
    return clone


def to_onnx(source: Source, module: torch.nn.Module, *, batch: int | None, opset: int, logits: bool) -> Graph:
    """Export ``module``, ``source``'s :func:`entry` for ``logits``: symbolic batch dimension
    ``batch`` unless ``batch`` fixes it."""
    model = source.analysis.checked_model
    features = channels_first(known(model.input))
    several = [channels_first(known(i.shape)) for i in model.inputs] if len(model.inputs) > 1 else [features]
    names = list(model.input_names) if len(model.inputs) > 1 else [INPUT_NAME]
    examples = tuple(torch.zeros((batch or 2, *f)) for f in several)  # 2, not 1: torch.export specialises 0 and 1
    symbolic = torch.export.Dim(BATCH_DIM)
    dynamic = None if batch else tuple({0: symbolic} for _ in examples)
    names_out = output_names(source, logits)
    with _quiet(), exportable(source.module):  # adaptive pooling the exporter cannot take: specc.exporting.adaptive
        try:
            program = torch.onnx.export(module, examples, None, dynamo=True, opset_version=opset,
                                        input_names=names, output_names=names_out,
                                        dynamic_shapes=dynamic, verbose=False)
        except torch.onnx.errors.OnnxExporterError as exc:
            raise SpeccError(f"the ONNX exporter could not convert '{source.name}': {_reason(exc)}") from exc
        assert program is not None  # dynamo=True returns the ONNXProgram
        proto = program.model_proto
    found = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if found != opset:
        raise SpeccError(f"the ONNX exporter could not produce opset {opset} (it made {found}); "
                         f"try --opset {MIN_OPSET}", 2)
    leading: int | str = batch or BATCH_DIM
    outputs = [(leading, *channels_first(known(source.analysis.shape_of(n)))) for n in model.outputs]
    return Graph(proto, (leading, *features), names_out[0], outputs[0],
                 tuple((n, (leading, *f)) for n, f in zip(names, several)),
                 tuple(zip(names_out, outputs)) if model.declared_outputs else ())


def _reason(exc: BaseException) -> str:
    """The exporter's first sentence (colour codes removed), and the failure at the root of it."""
    reason = first_sentence(exc)
    root = exc
    for _ in range(16):  # a chain of causes, never a loop of them
        if root.__cause__ is None:
            break
        root = root.__cause__
    return reason if root is exc else f"{reason} ({type(root).__name__}: {first_line(root)})"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep the exporter's progress lines, warnings and log chatter off the user's terminal."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def metadata(source: Source, output: str) -> dict[str, str]:
    """The metadata_props every specc export carries (docs/export.md lists them)."""
    model = source.analysis.checked_model  # a spec checked without errors, or a checkpoint's
    assert model.input is not None
    layouts = {1: "NF float32 (batch, features)", 2: "NCL float32", 3: "NCHW float32", 4: "NCDHW float32"}
    props = {
        "model_name": source.name,
        "spec": source.analysis.source,
        "specc_version": __version__,
        "input_layout": layouts[len(model.input)],
        "input_scaling": source.input_scaling,
        "output": output_words(source.task, source.analysis, output),
        "weights": source.weights,
    }
    if source.class_names:
        props["class_names"] = json.dumps(list(source.class_names))
    if source.task is not None:
        props["task"] = source.task
    if source.task == "segment":
        props["classes"] = str(source.analysis.output[-1])  # type: ignore[index]  # a segmenter's HxWxK map
    if source.threshold is not None:
        props["threshold"] = repr(source.threshold)
    return props


def annotate(graph: Graph, source: Source) -> onnx.ModelProto:
    """Name the graph after the model, its nodes after the spec's layers, and record where it came from."""
    proto = graph.proto
    proto.producer_name = "specc"
    proto.producer_version = __version__
    proto.doc_string = f"specc {__version__}: {source.name}, {graph.output_name}; weights: {source.weights}"
    proto.graph.name = source.name
    name_nodes(proto, source.analysis)
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, metadata(source, graph.output_name))
    return proto

