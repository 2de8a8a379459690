"""Which files `specc check PATH...` reads: files as given, folders searched for *.cnn.

Like ruff, a folder search skips what is not the user's source: hidden folders
(.git, .venv), virtual environments (any folder holding pyvenv.cfg),
``node_modules``, ``__pycache__``, ``build``, ``dist`` and ``runs`` (the run
directories `specc train` writes, each with a copy of its spec), plus every
``--exclude`` glob. A file named on the command line is always read.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import SpeccError, quoted_path
from ..files import stat_of

DEFAULT_EXCLUDES = ("runs", "node_modules", "__pycache__", "build", "dist")


def excluded(path: Path, globs: Iterable[str]) -> bool:
    """Whether a path found in a folder matches an --exclude glob (by name or by path)."""
    text = path.as_posix()
    return any(fnmatch.fnmatch(path.name, g) or fnmatch.fnmatch(text, g) or fnmatch.fnmatch(text, f"*/{g}")
               for g in globs)


def _skipped_folder(folder: Path, globs: tuple[str, ...]) -> bool:
    name = folder.name
    return (name.startswith(".") or name in DEFAULT_EXCLUDES or _virtual_environment(folder)
            or excluded(folder, globs))


def _virtual_environment(folder: Path) -> bool:
    try:
        return (folder / "pyvenv.cfg").is_file()
    except OSError:  # a folder we may not look into: os.walk reports it when it tries
        return False


def search(root: Path, globs: tuple[str, ...] = (), problems: list[str] | None = None) -> list[str]:
    """The *.cnn files under ``root``, sorted, skipping excluded folders without entering them; each
    folder that cannot be listed becomes a message in ``problems`` (never skipped in silence)."""
    def report(exc: OSError) -> None:
        if problems is not None:
            problems.append(f"cannot read folder {quoted_path(exc.filename)}: {exc.strerror or exc}")

    found = []
    for folder, subfolders, names in os.walk(root, onerror=report):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if not _skipped_folder(here / d, globs))
        found += [here / n for n in names if n.endswith(".cnn") and not excluded(here / n, globs)
                  and (here / n).is_file()]
    return sorted(str(p) for p in found)


def expand(paths: Iterable[str], globs: Iterable[str] = (), unreadable: list[str] | None = None) -> list[str]:
    """Files as given; folders searched recursively for *.cnn, in sorted order.

    Sub-folders that cannot be read are appended to ``unreadable`` (a message
    each); without the list, the first is an error (exit 2).
    """
    globs = tuple(globs)
    files = []
    for raw in paths:
        found = None if raw == "-" else stat_of(raw)
        if raw == "-" or (found is not None and stat.S_ISREG(found.st_mode)):
            files.append(raw)
        elif found is not None and stat.S_ISDIR(found.st_mode):
            problems: list[str] = []
            searched = search(Path(raw), globs, problems)
            if problems and unreadable is None:
                raise SpeccError(problems[0], 2)
            (unreadable if unreadable is not None else []).extend(problems)
            if not searched and not problems:
                raise SpeccError(f"no .cnn files in folder {quoted_path(raw)} (hidden folders, virtual environments, "
                                 f"{', '.join(DEFAULT_EXCLUDES)} and --exclude globs are skipped)", 2)
            files += searched
        elif found is not None:  # a FIFO, a device: reading it could block or never end
            raise SpeccError(f"cannot read {quoted_path(raw)}: not a regular file or folder", 2)
        else:
            raise SpeccError(f"cannot read {quoted_path(raw)}: no such file or folder", 2)
    return files
