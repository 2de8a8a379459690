"""`specc check --watch`: check again and redraw whenever a watched spec changes.

Standard library polling, twice a second, of each file's size and mtime
(the caller lists the files again each time, so new specs in a folder join
in, and the watched files are exactly the checked ones): no watcher
dependency, and the same behaviour on every OS and file system. The screen is
cleared before each report only on a terminal; piped, the reports follow one
another. Ctrl-C ends the watch quietly with status 0; nothing else ends it: a
check that fails with a bug in specc is reported as an internal error, for
that change only.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..errors import SpeccError, described

POLL_SECONDS = 0.5
CLEAR = "\x1b[2J\x1b[H"  # erase the screen, cursor to the top left

Fingerprint = tuple[tuple[str, int, int] | tuple[str], ...]


def fingerprint(files: list[str]) -> Fingerprint:
    """Name, mtime and size of every watched file; a missing file counts as its name alone."""
    found: list[tuple[str, int, int] | tuple[str]] = []
    for file in files:
        try:
            stat = Path(file).stat()
        except OSError:
            found.append((file,))
            continue
        found.append((file, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _listed(paths: list[str], listing: Callable[[], list[str]]) -> list[str]:
    try:
        return listing()
    except SpeccError:  # a file removed, a folder emptied: watch what was named until it returns
        return paths


def watch(paths: list[str], check: Callable[[], str], listing: Callable[[], list[str]] | None = None,
          out: TextIO | None = None, poll: float = POLL_SECONDS) -> int:
    """Print ``check()``'s report now and after every change to the files ``listing()`` names
    (the files ``check`` reads; default: ``paths`` themselves), until Ctrl-C."""
    if "-" in paths:
        raise SpeccError("--watch needs files or folders; it cannot watch - (stdin)", 2)
    out = out or sys.stdout
    listing = listing or (lambda: paths)
    seen: Fingerprint | None = None
    try:
        while True:
            now = fingerprint(_listed(paths, listing))
            if now != seen:
                seen = now
                _draw(out, _report(check))
                print(f"specc: watching {_names(paths)}; Ctrl-C to stop", file=sys.stderr, flush=True)
            time.sleep(poll)
    except KeyboardInterrupt:
        return 0


def _report(check: Callable[[], str]) -> str:
    try:
        return check()
    except SpeccError as exc:  # a file removed or a folder emptied mid-watch: say so and keep watching
        return f"specc: error: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - a bug in specc ends this check, never the watch
        return internal_error(exc)


def internal_error(exc: Exception) -> str:
    """A bug's report in two lines: what was raised and where, and what to do about it."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return (f"specc: internal error: {described(exc)}{where}\n"
            f"This is a bug in specc, not a mistake in the spec: please report it with the spec. "
            f"Still watching.")


def _draw(out: TextIO, report: str) -> None:
    if out.isatty():
        out.write(CLEAR)
    print(report, file=out, flush=True)


def _names(paths: list[str]) -> str:
    return ", ".join(f"'{p}'" for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
