"""`specc predict MODEL INPUT...`: the most probable classes of images or arrays.

MODEL is a run directory, a checkpoint or an exported .onnx file; INPUT an
image (PNG, JPEG, BMP), a folder of images or an .npz with `x` (a model of
several inputs: an .npz with one array per input, named by its label). The work is
:mod:`specc.api.predict`; this module parses options and prints.
"""

from __future__ import annotations

import argparse
import json
import sys


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="classify images or arrays with a trained run, checkpoint or .onnx file",
                       description="Run a trained model on images, folders of images or .npz arrays (`x`) and "
                                   "print the most probable classes with their probabilities. Inputs are scaled "
                                   "as the run's data was; an image of the wrong size is refused unless --resize.")
    p.add_argument("model", metavar="MODEL", help="a run directory (its best.pt), a checkpoint (.pt) or an .onnx file")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="images, folders of images, or .npz files with `x` (several inputs: one array per label)")
    p.add_argument("--top", type=int, default=3, metavar="K", help="classes shown per input (default: 3)")
    p.add_argument("--resize", action="store_true", help="scale images to the spec's HxW")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...api import predict
    from ...errors import SpeccError
    from ...escape import json_safe
    from ...runtime.samples import image_scale_note, read, read_inputs

    if args.top < 1:
        raise SpeccError(f"--top must be at least 1 (got {args.top})", 2)
    model = predict.load(args.model)
    note = image_scale_note(model.scaling)
    samples = list(read_inputs(args.inputs, model.inputs, model.scalings, warn) if model.inputs else
                   read(args.inputs, model.shape, args.resize, warn))
    if note and any(not s.name.endswith("]") for s in samples):
        warn(note)
    results = predict.predict(model, samples, args.top)
    if args.format == "json":
        print(json_safe(json.dumps({"model": model.name, "weights": model.source, "input_scaling": model.scaling,
                                    "predictions": [r.as_dict() for r in results]}, indent=2, ensure_ascii=False)))
    else:
        print(predict.text(model, results))
    return 0


def warn(message: str) -> None:
    """``specc: warning: ...`` on stderr, control characters (from file names, metadata) written out."""
    from ...escape import printable

    print(f"specc: warning: {printable(message)}", file=sys.stderr)
