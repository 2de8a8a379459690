"""`specc export`: a run, checkpoint or spec to one verified, self-contained .onnx file.

    source ─load→ eval-mode module ─to_onnx→ ModelProto ─annotate→ temp file ─verify→ os.replace

The pieces live beside this file: :mod:`specc.export_source` (what to export),
:mod:`specc.export_onnx` (the exporter and the metadata), :mod:`specc.export_verify`
(checker, shape inference, onnxruntime against PyTorch). Nothing reaches the
output path unless every check passed: the file is written under a temporary
name in the same folder (reserved before any work, so an unwritable folder
fails at once), verified there, then renamed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from .errors import SpeccError
from .export_onnx import DEFAULT_OPSET, INPUT_NAME, MIN_OPSET, annotate, entry, max_opset, to_onnx
from .export_source import Source, load_source
from .export_verify import verify

DEFAULT_ATOL = 1e-5  # float32 rounding in a small net is ~1e-7; a wrong op is off by far more
VERIFY_BATCHES = (1, 7)  # 1, and an odd size above it, catch a batch dimension baked into the graph
# One protobuf message may not exceed 2 GiB; weights inline must stay below it.
PROTOBUF_LIMIT = 2**31 - 2**24


@dataclass(frozen=True)
class ExportOptions:
    """How to export; each default is what users get without the flag."""

    batch: int | None = None  # None: a symbolic batch dimension named "batch"
    opset: int = DEFAULT_OPSET  # 18: the lowest the exporter implements, so the most runtimes load it
    logits: bool = False  # False: export forward(), i.e. probabilities when the spec ends in softmax/sigmoid
    seed: int | None = None  # random weights of a spec; None: unseeded
    spec: Path | None = None  # a spec the checkpoint must have been trained on
    atol: float = DEFAULT_ATOL  # largest absolute difference onnxruntime vs PyTorch accepted

    def validate(self) -> None:
        if self.batch is not None and self.batch < 1:
            raise SpeccError(f"--batch must be at least 1 (got {self.batch})", 2)
        if not MIN_OPSET <= self.opset <= max_opset():
            raise SpeccError(f"--opset must be between {MIN_OPSET} and {max_opset()} (got {self.opset}): the "
                             f"exporter implements opset {MIN_OPSET} and newer, and the installed onnx knows "
                             f"up to {max_opset()}", 2)
        if not self.atol > 0:
            raise SpeccError(f"--atol must be positive (got {self.atol})", 2)

    @property
    def batches(self) -> tuple[int, ...]:
        return (self.batch,) if self.batch else VERIFY_BATCHES


@dataclass(frozen=True)
class ExportResult:
    """What was written and the evidence that it is right."""

    path: Path
    size_bytes: int
    opset: int
    input_name: str
    input_shape: tuple[int | str, ...]
    output_name: str
    output_shape: tuple[int | str, ...]
    max_abs_diff: dict[int, float]  # batch size -> largest |onnxruntime - PyTorch|
    weights: str
    warnings: tuple[str, ...] = field(default=())


def export(source: str | Path, output: str | Path, options: ExportOptions | None = None) -> ExportResult:
    """Export ``source`` (run directory, checkpoint or spec) to ``output``, verified; SpeccError otherwise."""
    options = options or ExportOptions()
    options.validate()
    source, output = Path(source), Path(output)
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise SpeccError(f"the output '{output}' is the source itself; choose another name", 2)
    temp = reserve(output)
    try:
        loaded = load_source(source, options.spec, options.seed)
        check_size(loaded)
        graph = to_onnx(loaded, batch=options.batch, opset=options.opset, logits=options.logits)
        save(annotate(graph, loaded), temp)
        diffs = verify(temp, graph, entry(loaded, options.logits), options.batches, options.atol)
        os.replace(temp, output)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return ExportResult(output, output.stat().st_size, options.opset, INPUT_NAME, graph.input_shape,
                        graph.output_name, graph.output_shape, diffs, loaded.weights, _warnings(loaded, options.seed))


def reserve(output: Path) -> Path:
    """An empty temporary file beside ``output``; fails early if ``output`` cannot be written."""
    if output.is_dir():
        raise SpeccError(f"the output '{output}' is a folder; give a file name such as '{output / 'model.onnx'}'", 2)
    if output.suffix.lower() != ".onnx":  # `-o net.cnn` or `-o runs/x/best.pt` would replace the user's file
        raise SpeccError(f"the output '{output}' does not end in .onnx; give a name such as "
                         f"'{output.with_name(output.stem + '.onnx')}'", 2)
    folder = output.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise SpeccError(f"cannot write '{output}': '{folder}' {what}", 2)
    temp = folder / f".{output.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        # os.open, not mkstemp: mode 0o666 less the umask, as for any file the user writes.
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise SpeccError(f"cannot write '{output}': {exc.strerror or exc}", 2) from exc
    return temp


def check_size(source: Source) -> None:
    size = source.analysis.totals.size_bytes
    if size > PROTOBUF_LIMIT:
        raise SpeccError(f"'{source.name}' has {size / 2**30:.1f} GiB of weights; a single-file ONNX model "
                         f"holds at most 2 GiB (a protobuf limit)")


def save(model: onnx.ModelProto, path: Path) -> None:
    """Every weight inline: one file, no external-data side file."""
    try:
        onnx.save_model(model, str(path), save_as_external_data=False)
    except OSError as exc:
        raise SpeccError(f"cannot write '{path}': {exc.strerror or exc}", 2) from exc


def _warnings(source: Source, seed: int | None) -> tuple[str, ...]:
    if not source.random_weights:
        return ()
    how = f"seed {seed}" if seed is not None else "unseeded; --seed N makes them reproducible"
    return (f"'{source.analysis.path}' is a spec, not a trained checkpoint: "
            f"the exported model has random weights ({how})",)
