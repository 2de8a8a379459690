"""`specc check FILE|DIR...`: the report, diagnostics and the 0/1/2 exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from ..errors import SpeccError, printable

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check specs: shapes, parameters, MACs, diagnostics",
                       description="Check .cnn specs: shapes, parameters, MACs, the 'why convolutions' "
                                   "figures and diagnostics. Exit 0: no errors; 1: errors (or warnings "
                                   "with --strict); 2: usage or I/O problem.")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".cnn files or folders (searched for *.cnn); - for stdin")
    p.add_argument("--format", "-f", default="text", choices=("text", "concise", "json", "sarif", "github"),
                   help="output format (default: text; concise: one line per diagnostic)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--select", metavar="CODES", help="comma-separated rule codes or prefixes to enable")
    p.add_argument("--ignore", metavar="CODES", help="comma-separated rule codes or prefixes to silence")
    p.add_argument("--quiet", "-q", action="store_true", help="text format: diagnostics only, no tables")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour text output")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="skip files and folders matching GLOB when searching folders (repeatable); runs/, hidden "
                        "folders, virtual environments, node_modules, __pycache__, build and dist are always skipped")
    p.add_argument("--statistics", action="store_true", help="print how often each code was reported, not each one")
    p.add_argument("--wide", action="store_true", help="on a terminal, show every table column however wide")
    memory = p.add_argument_group("training-memory estimate")
    memory.add_argument("--batch", type=int, metavar="N", help="estimate the memory training needs at batch size N")
    memory.add_argument("--optimizer", choices=OPTIMIZERS,
                        help="optimizer for the estimate (default: the spec's `train optimizer=`, else adam)")
    p.add_argument("--watch", "-w", action="store_true", help="check again whenever a file changes (Ctrl-C stops)")
    p.set_defaults(run=run)


def analyse(files: list[str], args: argparse.Namespace) -> list:
    from ..source import read

    return [read(name, select=args.select, ignore=args.ignore, origin="--{key}") for name in files]


def _options(args: argparse.Namespace) -> dict:
    if args.batch is not None and args.batch < 1:
        raise SpeccError(f"--batch must be at least 1 (got {args.batch})", 2)
    if args.statistics and args.format not in ("text", "concise"):
        raise SpeccError(f"--statistics prints counts as text; it does not combine with --format {args.format}", 2)
    wide = args.wide or args.format != "text" or not sys.stdout.isatty()
    return {"quiet": args.quiet, "color": {"always": True, "never": False}.get(args.color),
            "width": None if wide else _columns(),
            "batch": args.batch, "optimizer": args.optimizer}


def _statistics(analyses: list) -> str:
    from ..report.concise import statistics

    return statistics(analyses)


def _columns() -> int:
    import shutil

    return shutil.get_terminal_size().columns


def report(args: argparse.Namespace, unreadable: list[str] | None = None) -> tuple[str, int]:
    """The rendered report and the exit status for the paths as they are now; folders that
    cannot be read are added to ``unreadable``."""
    from ..pipeline import collector_paused

    with collector_paused():  # the reports are as large as the analyses, and as free of cycles
        pieces, status = _report_pieces(args, unreadable)
        return "".join(pieces), status


def _report_pieces(args: argparse.Namespace, unreadable: list[str] | None) -> tuple[Iterable[str], int]:
    """The report's text in pieces, made as they are read (the text and JSON reports of a
    large spec are never held whole), and the exit status."""
    from ..folders import expand
    from ..report import pieces

    options = _options(args)
    analyses = analyse(expand(args.paths, args.exclude, unreadable), args)
    status = 1 if any(a.errors or (args.strict and a.warnings) for a in analyses) else 0
    if args.statistics:
        return [_statistics(analyses)], status
    return pieces(analyses, args.format, **options), status


def _write(pieces: Iterable[str]) -> None:
    """Write the report as ``print(report)`` would, a piece at a time; nothing for an empty one."""
    written = False
    for piece in pieces:
        if piece:
            sys.stdout.write(piece)
            written = True
    if written:
        sys.stdout.write("\n")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    if args.watch:
        from ..folders import expand
        from ..watch import watch

        expand(args.paths, args.exclude)  # a mistyped path is refused now, not watched
        return watch(args.paths, lambda: report(args)[0], lambda: expand(args.paths, args.exclude))
    from ..pipeline import collector_paused

    unreadable: list[str] = []
    with collector_paused():
        pieces, status = _report_pieces(args, unreadable)
        try:
            _write(pieces)
        except BrokenPipeError as exc:  # `specc check bad.cnn | head -1` still exits 1
            exc.status = 2 if unreadable else status
            raise
    for problem in unreadable:  # after the report: the specs that could be read were checked
        print(f"specc: error: {printable(problem)}", file=sys.stderr)
    return 2 if unreadable else status
