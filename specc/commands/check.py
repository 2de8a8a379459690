"""`specc check FILE|DIR...`: the report, diagnostics and the 0/1/2 exit status."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import SpeccError


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check specs: shapes, parameters, MACs, diagnostics",
                       description="Check .cnn specs: shapes, parameters, MACs, the 'why convolutions' "
                                   "figures and diagnostics. Exit 0: no errors; 1: errors (or warnings "
                                   "with --strict); 2: usage or I/O problem.")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".cnn files or folders (searched for *.cnn); - for stdin")
    p.add_argument("--format", "-f", default="text", choices=("text", "json", "sarif", "github"),
                   help="output format (default: text)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--select", metavar="CODES", help="comma-separated rule codes or prefixes to enable")
    p.add_argument("--ignore", metavar="CODES", help="comma-separated rule codes or prefixes to silence")
    p.add_argument("--quiet", "-q", action="store_true", help="text format: diagnostics only, no tables")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour text output")
    p.add_argument("--watch", "-w", action="store_true", help="check again whenever a file changes (Ctrl-C stops)")
    p.set_defaults(run=run)


def expand(paths: list[str]) -> list[str]:
    """Files as given; folders searched recursively for *.cnn, in sorted order."""
    files = []
    for raw in paths:
        path = Path(raw)
        if raw == "-" or path.is_file():
            files.append(raw)
        elif path.is_dir():
            found = sorted(str(p) for p in path.rglob("*.cnn") if p.is_file())
            if not found:
                raise SpeccError(f"no .cnn files in folder '{raw}'", 2)
            files += found
        elif path.exists():  # a FIFO, a device: reading it could block or never end
            raise SpeccError(f"cannot read '{raw}': not a regular file or folder", 2)
        else:
            raise SpeccError(f"cannot read '{raw}': no such file or folder", 2)
    return files


def analyse(files: list[str], args: argparse.Namespace) -> list:
    from ..source import read

    return [read(name, select=args.select, ignore=args.ignore, origin="--{key}") for name in files]


def report(args: argparse.Namespace) -> tuple[str, int]:
    """The rendered report and the exit status for the paths as they are now."""
    from ..report import render

    analyses = analyse(expand(args.paths), args)
    color = {"always": True, "never": False}.get(args.color)
    output = render(analyses, args.format, quiet=args.quiet, color=color)
    return output, 1 if any(a.errors or (args.strict and a.warnings) for a in analyses) else 0


def run(args: argparse.Namespace) -> int:
    if args.watch:
        from ..watch import watch

        expand(args.paths)  # a mistyped path is refused now, not watched
        return watch(args.paths, lambda: report(args)[0], lambda: expand(args.paths))
    output, status = report(args)
    try:
        if output:
            print(output, flush=True)
    except BrokenPipeError as exc:  # `specc check bad.cnn | head -1` still exits 1
        exc.status = status
        raise
    return status
