"""`specc export SOURCE [-o FILE.onnx]`: one verified, self-contained ONNX file.

SOURCE is a run directory (its best checkpoint), a checkpoint file or a spec
(random weights). The work is :func:`specc.exporting.export`; this module parses
options and prints the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ...errors import SpeccError
from ...exporting.options import DEFAULT_ATOL, DEFAULT_OPSET  # no onnx, no torch: `specc --help` stays light
from ...numbers import human_bytes


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a trained run, checkpoint or spec to ONNX, verified",
                       description="Write one self-contained .onnx file and prove it: onnx's checker, ONNX "
                                   "shape inference against the spec, and onnxruntime against PyTorch on "
                                   "random inputs (largest absolute difference at most --atol). Nothing is "
                                   "written unless every check passes.")
    p.add_argument("source", metavar="SOURCE",
                   help="a run directory (its best.pt, else last.pt), a checkpoint (.pt) or a spec (.cnn: "
                        "random weights)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="the .onnx file to write (default for a run or checkpoint: <its folder>/<model>.onnx)")
    p.add_argument("--spec", metavar="SPEC", type=Path, help="refuse a checkpoint not trained on this spec")
    p.add_argument("--batch", type=int, metavar="N", help="a fixed batch size (default: symbolic 'batch')")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, metavar="N",
                   help=f"ONNX opset, {DEFAULT_OPSET} or newer (default: {DEFAULT_OPSET})")
    p.add_argument("--logits", action="store_true",
                   help="export logits(x), the scores before the final softmax/sigmoid")
    p.add_argument("--seed", type=int, metavar="N", help="seed for a spec's random weights")
    p.add_argument("--atol", type=float, default=DEFAULT_ATOL, metavar="X",
                   help=f"largest absolute difference onnxruntime vs PyTorch accepted, per unit of the largest "
                        f"output above 1 (default: {DEFAULT_ATOL:g})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...errors import SpeccError
    from ...escape import printable
    from ...files import stat_of

    if stat_of(args.source) is None:  # before torch's import: a typo is answered at once, not in 5 s
        raise SpeccError(f"cannot read '{args.source}': no such file or folder", 2)
    from ...exporting import ExportOptions, export

    options = ExportOptions(batch=args.batch, opset=args.opset, logits=args.logits, seed=args.seed,
                            spec=args.spec, atol=args.atol)
    result = export(args.source, args.output or default_output(Path(args.source)), options,
                    run_file=args.output is None)  # the default is a name specc picks in the run: see specc.files
    for warning in result.warnings:
        print(f"specc: warning: {printable(warning)}", file=sys.stderr)
    print(printable(summary(result)))  # the paths in it may hold control characters
    from ..next_steps import after_export, show

    show(after_export(result.path))
    return 0


def default_output(source: Path) -> Path:
    """RUN_DIR/<model>.onnx for a run (or a checkpoint's folder); a spec needs -o."""
    folder = source if source.is_dir() else source.parent
    if source.suffix == ".cnn" or not (source.is_dir() or source.suffix in (".pt", ".pth", ".ckpt")):
        raise SpeccError(f"give the output file: specc export {source} -o FILE.onnx (only a run directory or a "
                         f"checkpoint has a default, <its folder>/<model>.onnx)", 2)
    return folder / f"{_model_name(folder) or source.stem}.onnx"


def _model_name(folder: Path) -> str | None:
    """The model's name as the run's config.json records it (None when it does not)."""
    try:
        model = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model")
    except (OSError, ValueError, AttributeError):
        return None
    return model if isinstance(model, str) and model and "/" not in model and model not in (".", "..") else None


def summary(result) -> str:
    diffs = ", ".join(f"{diff:.2g} at batch {batch}" for batch, diff in result.max_abs_diff.items())
    return "\n".join([
        f"wrote {result.path} ({human_bytes(result.size_bytes)}, opset {result.opset}, one file)",
        *(f"  input   {name:<13} {_shape(shape)} float32"
          for name, shape in result.inputs or ((result.input_name, result.input_shape),)),
        *(f"  output  {name:<13} {_shape(shape)} float32"
          for name, shape in result.outputs or ((result.output_name, result.output_shape),)),
        f"  weights {result.weights}",
        f"  verified: onnx checker, shape inference; onnxruntime vs PyTorch max |diff| {diffs}",
    ])


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"

