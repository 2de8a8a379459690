"""`specc predict MODEL INPUT...`: what a trained model says about images or arrays, by its task:
the most probable classes, masks (PNG files), values, embeddings or same/different verdicts.

MODEL is a run directory, a checkpoint or an exported .onnx file; INPUT an
image (PNG, JPEG, BMP), a folder of images or an .npz with `x` (a model of
several inputs: an .npz with one array per input, named by its label). The work is
:mod:`specc.api.predict` and :mod:`specc.api.answers`; this module parses options and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ...errors import SpeccError

OUT_DEFAULT = "predictions"  # a segmenter's masks go to predictions/<model>/ unless --out says where


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="run a trained run, checkpoint or .onnx file on images or arrays",
                       description="Run a trained model on images, folders of images or .npz arrays (`x`) and "
                                   "print what its task gives: the most probable classes with their "
                                   "probabilities, a mask and an overlay PNG per image (segment), the values "
                                   "(regress), an embedding or a same/different verdict (embed). Inputs are scaled "
                                   "as the run's data was; an image of the wrong size is refused unless --resize.")
    p.add_argument("model", metavar="MODEL", help="a run directory (its best.pt), a checkpoint (.pt) or an .onnx file")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="images, folders of images, or .npz files with `x` (several inputs: one array per label)")
    p.add_argument("--top", type=int, metavar="K", help="a classifier's classes shown per input (default: 3)")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help=f"where a segmenter writes NAME.mask.png and NAME.overlay.png (default: {OUT_DEFAULT}/MODEL)")
    p.add_argument("--overwrite", action="store_true", help="replace mask and overlay files already in --out")
    p.add_argument("--pair", action="store_true",
                   help="an encoder (embed): compare the inputs two by two, the distance and same/different")
    p.add_argument("--resize", action="store_true", help="scale images to the spec's HxW")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ...api import predict
    from ...runtime.samples import image_scale_note, read, read_inputs

    if args.top is not None and args.top < 1:
        raise SpeccError(f"--top must be at least 1 (got {args.top})", 2)
    model = predict.load(args.model)
    refuse_flags(args, model)
    note = image_scale_note(model.scaling)
    samples = list(read_inputs(args.inputs, model.inputs, model.scalings, warn) if model.inputs else
                   read(args.inputs, model.shape, args.resize, warn))
    if note and any(not s.name.endswith("]") for s in samples):
        warn(note)
    if model.task != "classify":
        return answer(args, model, samples)
    results = predict.predict(model, samples, args.top or 3)
    if args.format == "json":
        show_json({"predictions": [r.as_dict() for r in results]}, model)
    else:
        print(predict.text(model, results))
    return 0


def answer(args: argparse.Namespace, model, samples: list) -> int:
    """A segmenter's masks, a regressor's values, an encoder's embeddings or verdicts."""
    from ...api.answer_text import text
    from ...api.answers import Answer
    from ...api.answers import answer as found_by
    from ...api.masks import write_masks

    found: Answer
    if model.task == "segment":
        found = write_masks(model, samples, args.out or Path(OUT_DEFAULT) / model.name, args.overwrite)
    else:
        found = found_by(model, samples, pair=args.pair)
    if args.format == "json":
        show_json(found.as_dict(), model)
    else:
        print(text(model, found))
    return 0


def refuse_flags(args: argparse.Namespace, model) -> None:
    """Flags that mean nothing for the model's task are refused, naming it, not ignored."""
    task = "a pair network (embed)" if model.pair else f"a {model.task} model"
    for flag, given, wanted in (("--top", args.top is not None, model.task == "classify"),
                                ("--out", args.out is not None, model.task == "segment"),
                                ("--overwrite", args.overwrite, model.task == "segment"),
                                ("--pair", args.pair, model.task == "embed" and not model.pair)):
        if given and not wanted:
            what = {"--top": "ranks a classifier's classes", "--out": "is where a segmenter's masks go",
                    "--overwrite": "replaces a segmenter's mask files",
                    "--pair": "compares an encoder's inputs two by two"}[flag]
            hint = "; a pair network's .npz already holds pairs (one array per input)" if flag == "--pair" and \
                model.pair else ""
            raise SpeccError(f"{flag} {what}, but '{args.model}' is {task}{hint}", 2)


def show_json(found: dict, model) -> None:
    from ...escape import json_safe

    head = {"model": model.name, "weights": model.source, "input_scaling": model.scaling}
    print(json_safe(json.dumps({**head, **found}, indent=2, ensure_ascii=False)))


def warn(message: str) -> None:
    """``specc: warning: ...`` on stderr, control characters (from file names, metadata) written out."""
    from ...escape import printable

    print(f"specc: warning: {printable(message)}", file=sys.stderr)
