"""The whole export, one verified .onnx file: ``export(source, output, options) -> ExportResult``.

    source ─load→ eval-mode module ─entry→ forward or logits ─to_onnx→ ModelProto ─annotate→ temp file
           ─verify→ os.replace

Nothing reaches the output path unless every check passed: the file is
written under a temporary name in the same folder (reserved before any work,
so an unwritable folder fails at once), verified there, then renamed. The
module exported is the one verified: built once (:func:`.graph.entry`).
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from ..analysis import Analysis
from ..errors import SpeccError, memory_refusal, out_of_memory
from ..files import replacing, stat_of
from .graph import INPUT_NAME, annotate, entry, max_opset, to_onnx
from .options import ExportOptions
from .source import Source, load_source
from .verify import verify

# One protobuf message may not exceed 2 GiB; weights inline must stay below it.
PROTOBUF_LIMIT = 2**31 - 2**24
# Verification holds the input, PyTorch's activations and onnxruntime's at once: about three copies.
VERIFY_COPIES = 3


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
    inputs: tuple[tuple[str, tuple[int | str, ...]], ...] = field(default=())  # every input (name, shape), in order
    # every output (name, shape), in order, where an `output` line names them; () for the one output above
    outputs: tuple[tuple[str, tuple[int | str, ...]], ...] = field(default=())


def export(source: str | Path, output: str | Path, options: ExportOptions | None = None, *,
           run_file: bool = False) -> ExportResult:
    """Export ``source`` (run directory, checkpoint or spec) to ``output``, verified; SpeccError otherwise.

    ``run_file``: ``output`` is a name specc chose in the run's folder, so a link there is replaced, not
    written through (:func:`specc.files.write_run_file`).
    """
    options = options or ExportOptions()
    options.validate(max_opset())
    source, output = Path(source), Path(output)
    check_output(output, source)
    try:
        # Reserved before any work: an unwritable folder fails at once.
        with replacing(output, follow_links=not run_file) as temp:
            loaded = load_source(source, options.spec, options.seed, lambda analysis: check_size(analysis, options))
            module = entry(loaded, options.logits)  # what is exported is what is verified
            graph = to_onnx(loaded, module, batch=options.batch, opset=options.opset, logits=options.logits)
            save(annotate(graph, loaded), temp)
            diffs = verify(temp, graph, module, options.batches, options.atol)
    except (MemoryError, RuntimeError) as exc:
        if not out_of_memory(exc):
            raise
        raise memory_refusal(exc, f"while exporting '{source}'") from exc
    inputs = graph.inputs or ((INPUT_NAME, graph.input_shape),)
    return ExportResult(output, output.stat().st_size, options.opset, inputs[0][0], graph.input_shape,
                        graph.output_name, graph.output_shape, diffs, loaded.weights,
                        loaded.warnings + _warnings(loaded, options.seed), inputs, graph.outputs)


def check_output(output: Path, source: Path) -> None:
    """Refuse an output that is a folder, does not end in .onnx, or is the source itself."""
    if str(output) == "-":
        raise SpeccError("export writes a file (ONNX is binary and verified on disk); give -o NAME.onnx", 2)
    found = stat_of(output)
    if found is not None and stat_of(source) is not None and os.path.samefile(output, source):
        raise SpeccError(f"the output '{output}' is the source itself; choose another name", 2)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise SpeccError(f"the output '{output}' is a folder; give a file name such as '{output / 'model.onnx'}'", 2)
    if output.suffix.lower() != ".onnx":  # `-o net.cnn` or `-o runs/x/best.pt` would replace the user's file
        raise SpeccError(f"the output '{output}' does not end in .onnx; give a name such as "
                         f"'{output.with_name(output.stem + '.onnx')}'", 2)


def check_size(analysis: Analysis, options: ExportOptions) -> None:
    """Refuse, from the spec's figures and before any memory is allocated, what cannot be exported here."""
    model = analysis.checked_model  # the spec was checked without errors
    assert model.input is not None
    name = model.name
    size = analysis.totals.size_bytes
    if size > PROTOBUF_LIMIT:
        raise SpeccError(f"'{name}' has {size / 2**30:,.1f} GiB of weights; a single-file ONNX model "
                         f"holds at most 2 GiB (a protobuf limit)")
    per_sample = 4 * (math.prod(model.input) + (analysis.totals.activations or 0))
    need = VERIFY_COPIES * per_sample * max(options.batches)
    if need > memory_bytes():
        raise SpeccError(f"--batch {options.batch}: verifying '{name}' at that batch needs about "
                         f"{need / 2**30:,.1f} GiB ({per_sample:,} bytes of activations per sample, held by "
                         f"PyTorch and onnxruntime), more than this machine's {memory_bytes() / 2**30:,.1f} GiB; "
                         f"use a smaller --batch, or none (a symbolic batch dimension)", 2)


def memory_bytes() -> int:
    """Physical memory, or a very large number where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**62


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
