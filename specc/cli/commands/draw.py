"""`specc draw SPEC [-o FILE] [--format svg|html|dot|mermaid] [--direction TB|LR] [--collapse|--expand]`.

Draws a checked spec. Refuses a spec with errors (the diagnostics of
`specc check` on stderr, exit 1, nothing written). Writes beside the spec by
default (`net.cnn` -> `net.svg`), or to FILE, or to stdout with `-o -`; always
through a temporary file renamed into place, never over the spec. No torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ...errors import SpeccError

FORMATS = {"svg": ".svg", "html": ".html", "dot": ".dot", "mermaid": ".mmd"}


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("draw", help="draw a spec as SVG, HTML, Graphviz dot or Mermaid",
                       description="Draw a .cnn spec: a box per layer (label, kind, output shape, params), "
                                   "edges along its inputs, block instances as frames. Exit 0: written; "
                                   "1: the spec has errors; 2: usage or I/O problem.")
    p.add_argument("spec", metavar="SPEC", help=".cnn file, or - for stdin")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="where to write (default: beside the spec, net.cnn -> net.svg; - for stdout)")
    p.add_argument("--format", "-f", choices=tuple(FORMATS), default=None,
                   help="svg (default; or from FILE's suffix), html (pan, zoom, table), dot, mermaid")
    p.add_argument("--direction", choices=("TB", "LR"), default="TB", help="top to bottom (default) or left to right")
    fold = p.add_mutually_exclusive_group()
    fold.add_argument("--collapse", dest="collapse", action="store_true", default=None,
                      help="one box per top-level block instance (default above 60 layers)")
    fold.add_argument("--expand", dest="collapse", action="store_false", help="every layer in its own box")
    p.set_defaults(run=run)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower() if args.output and args.output != "-" else ""
    by_suffix = {ext: name for name, ext in FORMATS.items()} | {".htm": "html", ".gv": "dot", ".mermaid": "mermaid"}
    return by_suffix.get(suffix, "svg")


def target(args: argparse.Namespace, fmt: str) -> Path | None:
    """Where to write; None for stdout. Refuses every name that would replace the spec."""
    if args.output == "-" or (args.output is None and args.spec == "-"):
        return None
    if args.output is not None:
        _refuse_folder_name(args.output, "model" + FORMATS[fmt])
    path = Path(args.output) if args.output is not None else Path(args.spec).with_suffix(FORMATS[fmt])
    if path.suffix.lower() == ".cnn":
        raise SpeccError(f"-o {args.output} would write a drawing into a .cnn file; name it "
                         f"'{path.with_suffix(FORMATS[fmt]).name}'", 2)
    if args.spec != "-" and path.exists() and _same_file(path, Path(args.spec)):
        raise SpeccError(f"'{path}' is the spec itself; writing the drawing there would replace it", 2)
    if path.is_dir():
        raise SpeccError(f"cannot write '{path}': it is a folder; give a file name such as "
                         f"'{path / ('model' + FORMATS[fmt])}'", 2)
    return path


def _refuse_folder_name(output: str, example: str) -> None:
    """`-o ''` names nothing, and `-o l.svg/` a folder: Path() would quietly make either a file name."""
    if not output:
        raise SpeccError(f"-o '': give a file name such as '{example}', or - for stdout", 2)
    if output.endswith(("/", os.sep)):
        raise SpeccError(f"-o {output}: a name ending in '{output[-1]}' is a folder; give a file name such as "
                         f"'{output.rstrip('/' + os.sep) or '.'}' or '{output}{example}'", 2)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    from ...draw import draw
    from ...draw.adapter import from_analysis
    from ...files import write_text
    from ...report import render
    from ...source import read

    fmt = _format(args)
    path = target(args, fmt)
    analysis = read(args.spec, origin="--{key}")
    if analysis.diagnostics:
        color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
        print(render([analysis], "text", quiet=True, color=color), file=sys.stderr)
    if not analysis.ok:
        return 1
    text = draw(from_analysis(analysis), fmt, args.direction, args.collapse)
    if path is None:
        sys.stdout.write(text)
    else:
        write_text(path, text)
        print(f"wrote {path}", file=sys.stderr)
    return 0
