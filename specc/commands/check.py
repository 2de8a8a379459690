"""`specc check FILE|DIR...`: the report, diagnostics and the 0/1/2 exit status."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from ..errors import SpeccError, printable
from ..files import stat_of


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
    p.set_defaults(run=run)


def expand(paths: list[str], unreadable: list[str] | None = None) -> list[str]:
    """Files as given; folders searched recursively for *.cnn, in sorted order.

    Sub-folders that cannot be read are appended to ``unreadable`` (a message
    each) rather than skipped in silence; without the list they are an error.
    """
    files = []
    for raw in paths:
        found = None if raw == "-" else stat_of(raw)
        if raw == "-" or (found is not None and stat.S_ISREG(found.st_mode)):
            files.append(raw)
        elif found is not None and stat.S_ISDIR(found.st_mode):
            problems: list[str] = []
            searched = _search(raw, problems)
            if problems and unreadable is None:
                raise SpeccError(problems[0], 2)
            (unreadable if unreadable is not None else []).extend(problems)
            if not searched and not problems:
                raise SpeccError(f"no .cnn files in folder '{raw}'", 2)
            files += searched
        elif found is not None:  # a FIFO, a device: reading it could block or never end
            raise SpeccError(f"cannot read '{raw}': not a regular file or folder", 2)
        else:
            raise SpeccError(f"cannot read '{raw}': no such file or folder", 2)
    return files


def _search(folder: str, problems: list[str]) -> list[str]:
    """*.cnn files under ``folder``; each folder os.walk cannot list becomes a message in ``problems``."""
    def report(exc: OSError) -> None:
        problems.append(f"cannot read folder '{exc.filename}': {exc.strerror or exc}")

    found = []
    for top, _, names in os.walk(folder, onerror=report):
        found += [str(Path(top) / n) for n in names if n.endswith(".cnn") and (Path(top) / n).is_file()]
    return sorted(found)


def _codes(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def read_spec(name: str, select: list[str] | None = None, ignore: list[str] | None = None):
    """Check one spec named on the command line (`-` is stdin), with the lint rules chosen for it."""
    from ..pipeline import compile_bytes
    from ..rules.config import lint_options

    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise SpeccError(f"cannot read '{name}': {exc.strerror or exc}", 2) from exc
    options = lint_options(Path(name), select, ignore)
    return compile_bytes(data, "<stdin>" if name == "-" else name, **options)


def analyse(files: list[str], args: argparse.Namespace) -> list:
    return [read_spec(name, _codes(args.select), _codes(args.ignore)) for name in files]


def run(args: argparse.Namespace) -> int:
    from ..report import render

    unreadable: list[str] = []
    analyses = analyse(expand(args.paths, unreadable), args)
    color = {"always": True, "never": False}.get(args.color)
    output = render(analyses, args.format, quiet=args.quiet, color=color)
    status = 1 if any(a.errors or (args.strict and a.warnings) for a in analyses) else 0
    try:
        if output:
            print(output, flush=True)
    except BrokenPipeError as exc:  # `specc check bad.cnn | head -1` still exits 1
        exc.status = 2 if unreadable else status
        raise
    for problem in unreadable:  # after the report: the specs that could be read were checked
        print(f"specc: error: {printable(problem)}", file=sys.stderr)
    return 2 if unreadable else status
