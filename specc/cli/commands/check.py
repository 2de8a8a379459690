"""`specc check FILE|DIR...`: the report, diagnostics and the 0/1/2 exit status.

Files are checked one at a time as the report is written, each let go once its
part is out (:class:`Checked`): a folder of 100,000 specs costs the memory of
one, not of all of them.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, cast

from ...errors import SpeccError
from ...escape import printable
from ...hyperparameters import OPTIMIZERS
from ...pipeline import collector_paused  # at the top: the check's modules load as main pauses the collector
from ...record import NamedTuple
from ...report import FORMATS

if TYPE_CHECKING:
    from ...analysis import Analysis


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check specs: shapes, parameters, MACs, diagnostics",
                       description="Check .cnn specs: shapes, parameters, MACs, the 'why convolutions' "
                                   "figures and diagnostics. Exit 0: no errors; 1: errors (or warnings "
                                   "with --strict); 2: usage or I/O problem.")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".cnn files or folders (searched for *.cnn); - for stdin")
    p.add_argument("--format", "-f", default="text", choices=tuple(FORMATS),
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


class Verdict(NamedTuple):
    """What a report reads of a file after its first pass: its path and diagnostics."""

    path: str
    diagnostics: tuple

    @property
    def errors(self) -> list:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


class Checked:
    """The analyses of many files, each made when a report reaches it and let go after.

    A report reads them in order once; what it reads again (the closing total
    line, SARIF's results after its rule list) it gets from each file's
    Verdict, kept as the files are read. A file that cannot be read is left out
    and its message added to ``unreadable`` (as a folder that cannot be listed),
    so the report stays whole; without the list, it raises. The collector is
    paused while specc checks: what a file's report left in cycles is collected
    before the next file is read.
    """

    def __init__(self, files: list[str], read: Callable[[str], Analysis], unreadable: list[str] | None) -> None:
        self.files, self.read, self.unreadable = files, read, unreadable
        self.verdicts: list[Verdict] = []
        self.reached = 0  # files read so far, or left out

    def __len__(self) -> int:
        """How many files the report covers: those named, less those found unreadable so far."""
        return len(self.files) - (self.reached - len(self.verdicts))

    def __getitem__(self, index: int) -> Verdict:
        return self.finished()[index]

    def __iter__(self) -> Iterator:
        if self.reached:  # read once already: the verdicts
            yield from self.finished()
            return
        for analysis in self._reading():
            yield analysis
            del analysis
            gc.collect(0)  # the paused collector's young objects: a JSON report leaves json's closure cycles

    def finished(self) -> list[Verdict]:
        """Every file's Verdict, reading the files the report has not reached (`| head` left early)."""
        for _ in self._reading():
            pass
        return self.verdicts

    def _reading(self) -> Iterator[Analysis]:
        while self.reached < len(self.files):
            name = self.files[self.reached]
            self.reached += 1
            try:
                analysis = self.read(name)
            except SpeccError as exc:
                if self.unreadable is None:
                    raise
                self.unreadable.append(exc.message)
                continue
            self.verdicts.append(Verdict(analysis.path, analysis.diagnostics))
            yield analysis


def analyse(files: list[str], args: argparse.Namespace,
            unreadable: list[str] | None = None) -> list[Analysis] | Checked:
    """The files' analyses: one file's at once, several files' as the report reads them."""
    from ...source import read

    def check(name: str) -> Analysis:
        return read(name, select=args.select, ignore=args.ignore, origin="--{key}")

    return [check(files[0])] if len(files) == 1 else Checked(files, check, unreadable)


def _status(analyses: list[Analysis] | Checked, args: argparse.Namespace) -> int:
    found = analyses.finished() if isinstance(analyses, Checked) else analyses
    return 1 if any(a.errors or (args.strict and a.warnings) for a in found) else 0


def _options(args: argparse.Namespace) -> dict:
    if args.batch is not None and args.batch < 1:
        raise SpeccError(f"--batch must be at least 1 (got {args.batch})", 2)
    if args.statistics and args.format not in ("text", "concise"):
        raise SpeccError(f"--statistics prints counts as text; it does not combine with --format {args.format}", 2)
    wide = args.wide or args.format != "text" or not sys.stdout.isatty()
    return {"quiet": args.quiet, "color": {"always": True, "never": False}.get(args.color),
            "width": None if wide else _columns(),
            "batch": args.batch, "optimizer": args.optimizer}


def _statistics(analyses: Sequence[Analysis]) -> str:
    from ...report.concise import statistics

    return statistics(analyses)


def _columns() -> int:
    import shutil

    return shutil.get_terminal_size().columns


def report(args: argparse.Namespace, unreadable: list[str] | None = None) -> tuple[str, int]:
    """The rendered report and the exit status for the paths as they are now; folders that
    cannot be read are added to ``unreadable``."""
    with collector_paused():  # the reports are as large as the analyses, and as free of cycles
        analyses, pieces = _report_pieces(args, unreadable)
        return "".join(pieces), _status(analyses, args)


def _report_pieces(args: argparse.Namespace,
                   unreadable: list[str] | None) -> tuple[list[Analysis] | Checked, Iterable[str]]:
    """The analyses, made as the report reads them, and the report's text in pieces (the text and
    JSON reports of a large spec are never held whole); the exit status follows the pieces."""
    from ...report import pieces
    from ..discover import expand

    options = _options(args)
    analyses = analyse(expand(args.paths, args.exclude, unreadable), args, unreadable)
    # Checked reads as the Sequence[Analysis] a report takes: in order once, then through each file's Verdict.
    shown = cast("Sequence[Analysis]", analyses)
    if args.statistics:
        return analyses, [_statistics(shown)]
    return analyses, pieces(shown, args.format, **options)


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
        from ..discover import expand
        from ..watch import watch

        expand(args.paths, args.exclude)  # a mistyped path is refused now, not watched
        return watch(args.paths, lambda: report(args)[0], lambda: expand(args.paths, args.exclude))
    unreadable: list[str] = []
    with collector_paused():
        analyses, pieces = _report_pieces(args, unreadable)
        try:
            _write(pieces)
        except BrokenPipeError as exc:  # `specc check bad.cnn | head -1` still exits 1
            setattr(exc, "status", 2 if unreadable else _status(analyses, args))  # noqa: B010 -- main reads it
            raise
        status = _status(analyses, args)
    for problem in unreadable:  # after the report: the specs that could be read were checked
        print(f"specc: error: {printable(problem)}", file=sys.stderr)
    return 2 if unreadable else status
