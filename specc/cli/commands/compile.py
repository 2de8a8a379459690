"""`specc compile SPEC [-o FILE] [--check]`: the spec as a standalone PyTorch module.

Refuses a spec with errors (the diagnostics of `specc check` on stderr, exit 1,
nothing written); writes FILE atomically, or prints the source to stdout.
Code generation needs no torch, so neither does this command.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from ...errors import SpeccError


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="emit a standalone PyTorch nn.Module for a spec",
                       description="Emit a readable PyTorch module (one nn.Module class, importing only torch) "
                                   "for a .cnn spec. Exit 0: written; 1: the spec has errors (or, with --check, "
                                   "FILE is out of date); 2: usage or I/O problem.")
    p.add_argument("spec", metavar="SPEC", help=".cnn file, or - for stdin")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the module here, atomically (default, or -: stdout); a symlink is written through")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if FILE (-o) differs from what the spec compiles to")
    p.set_defaults(run=run)


def write_output(path: Path, text: str) -> None:
    """Write the module to ``path`` atomically (specc.files): never half a file, never a FIFO or device replaced."""
    from ...files import stat_of, write_text

    found = stat_of(path)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise SpeccError(f"cannot write '{path}': it is a folder; give a file name such as '{path / 'model.py'}'", 2)
    write_text(path, text)


def _refuse_folder_name(output: str) -> None:
    """`-o ''` names nothing, and `-o m.py/` a folder: Path() would quietly make either a file name."""
    if not output:
        raise SpeccError("-o '': give a file name such as 'model.py', or - for stdout", 2)
    if output.endswith(("/", os.sep)):
        raise SpeccError(f"-o {output}: a name ending in '{output[-1]}' is a folder; give a file name such as "
                         f"'{output.rstrip('/' + os.sep) or '.'}' or '{output}model.py'", 2)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _up_to_date(path: Path, source: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == source
    except (OSError, UnicodeDecodeError):
        return False


def run(args: argparse.Namespace) -> int:
    from ...codegen import generate
    from ...report import render
    from ...source import read

    to_file = args.output not in (None, "-")
    if to_file:
        _refuse_folder_name(args.output)
    if args.check and not to_file:
        raise SpeccError("--check needs -o FILE: the generated file to compare", 2)
    if to_file and not args.check and args.spec != "-" and _same_file(Path(args.output), Path(args.spec)):
        raise SpeccError(f"-o {args.output} is the spec itself; writing the module there would replace the spec", 2)
    if to_file and not args.check and Path(args.output).suffix == ".cnn":
        raise SpeccError(f"-o {args.output} would write Python into a .cnn file; name it "
                         f"'{Path(args.output).with_suffix('.py').name}'", 2)
    analysis = read(args.spec, origin="--{key}")
    if analysis.diagnostics:
        color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
        print(render([analysis], "text", quiet=True, color=color), file=sys.stderr)
    if not analysis.ok:
        return 1
    source = generate(analysis)
    if args.check:
        if _up_to_date(Path(args.output), source):
            return 0
        print(f"{args.output} is out of date with {args.spec}: run `specc compile {args.spec} -o {args.output}`",
              file=sys.stderr)
        return 1
    if to_file:
        write_output(Path(args.output), source)
    else:
        sys.stdout.write(source)
    return 0
