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
from collections.abc import Iterable
from pathlib import Path

from .errors import SpeccError

DEFAULT_EXCLUDES = ("runs", "node_modules", "__pycache__", "build", "dist")


def excluded(path: Path, globs: Iterable[str]) -> bool:
    """Whether a path found in a folder matches an --exclude glob (by name or by path)."""
    text = path.as_posix()
    return any(fnmatch.fnmatch(path.name, g) or fnmatch.fnmatch(text, g) or fnmatch.fnmatch(text, f"*/{g}")
               for g in globs)


def _skipped_folder(folder: Path, globs: tuple[str, ...]) -> bool:
    name = folder.name
    return (name.startswith(".") or name in DEFAULT_EXCLUDES or (folder / "pyvenv.cfg").is_file()
            or excluded(folder, globs))


def search(root: Path, globs: tuple[str, ...] = ()) -> list[str]:
    """The *.cnn files under ``root``, sorted, skipping excluded folders without entering them."""
    found = []
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if not _skipped_folder(here / d, globs))
        found += [here / n for n in names if n.endswith(".cnn") and not excluded(here / n, globs)
                  and (here / n).is_file()]
    return sorted(str(p) for p in found)


def expand(paths: Iterable[str], globs: Iterable[str] = ()) -> list[str]:
    """Files as given; folders searched recursively for *.cnn, in sorted order."""
    globs = tuple(globs)
    files = []
    for raw in paths:
        path = Path(raw)
        if raw == "-" or path.is_file():
            files.append(raw)
        elif path.is_dir():
            found = search(path, globs)
            if not found:
                raise SpeccError(f"no .cnn files in folder '{raw}' (hidden folders, virtual environments, "
                                 f"{', '.join(DEFAULT_EXCLUDES)} and --exclude globs are skipped)", 2)
            files += found
        elif path.exists():  # a FIFO, a device: reading it could block or never end
            raise SpeccError(f"cannot read '{raw}': not a regular file or folder", 2)
        else:
            raise SpeccError(f"cannot read '{raw}': no such file or folder", 2)
    return files
