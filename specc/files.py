"""Every file specc writes goes through here: atomic replacement, and paths looked at safely.

``replacing(path)`` gives a temporary file beside the target; when the block
ends it is flushed, fsynced and renamed over the target with ``os.replace``
(readers see the old file or the new, never half), and on any failure it is
removed and the target is left as it was. Two kinds of path, two rules for links:

- a path the user named (``compile -o``, ``draw -o``, ``export -o``): a symlink is
  written through, as an editor does: the file it points to is replaced, the link stays;
- a run file (:func:`write_run_file`), a name specc picks itself inside a folder
  (``curves.png``, ``best.pt``, ``val-confusion.png``, the ONNX file ``export RUN``
  writes): a symlink there is never followed; the link itself is replaced by the
  file, and what it pointed to is left untouched. A run folder may come from
  someone else (a download, a shared disk), and a link in it must not let specc
  overwrite the user's files elsewhere. Replacing rather than refusing: the
  rename acts on the name whatever is there (no window between a check and the
  write), and a training never stops at the end of an epoch over a link.

For both:

- only regular files are replaced: a folder, FIFO, socket or device (``/dev/null``)
  is refused, never turned into a regular file;
- a new file gets 0666 less the umask; a replaced file keeps its mode (and, for
  root, its owner);
- the temporary file is created with O_EXCL under a random name, so it is never
  opened through a link planted in its place;
- a hard link is not written through either: the name gets a new file, and other
  names of the old file keep the old contents (the price of atomic replacement,
  and what keeps a hard link in a downloaded run from reaching the user's file).

``stat_of(path)`` looks at a path the user named: missing is None, and any
other failure (permission denied, name too long, a symlink loop) is a
SpeccError naming the path, never a traceback. No torch, nothing heavy.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from .errors import SpeccError, WriteError, quoted_path

TEMP_SUFFIX = ".tmp"  # temporary names are `.NAME.PID.RANDOM.tmp`, so a glob of `.*.tmp` finds leftovers
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def stat_of(path: str | Path, what: str = "") -> os.stat_result | None:
    """``os.stat`` of a path the user named; None if it does not exist, SpeccError (2) if it cannot be looked at."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:  # a file where a folder was expected on the way: nothing there either
        return None
    except OSError as exc:
        raise SpeccError(f"cannot access {what}{quoted_path(path)}: {exc.strerror or exc}", 2) from exc


def read_regular(path: str | Path) -> bytes:
    """The bytes of a regular file, opened without waiting: a FIFO's open blocks until a writer
    comes and ``/dev/zero`` never ends, so anything but a regular file is an OSError
    ("not a regular file"), as a missing or unreadable file is."""
    with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return file.read()


def kind(st: os.stat_result | None) -> str:
    """'missing', 'a regular file' or what else a path is, in words."""
    if st is None:
        return "missing"
    if stat.S_ISREG(st.st_mode):
        return "a regular file"
    return next((words for test, words in _KINDS if test(st.st_mode)), "not a regular file")


def target_of(path: str | Path) -> Path:
    """The file a write to ``path`` replaces: the link's target for a symlink; refuses non-regular files."""
    path = Path(path)
    try:
        real = Path(os.path.realpath(path)) if path.is_symlink() else path
    except OSError as exc:
        raise WriteError(path, exc.strerror or str(exc)) from exc
    found = stat_of(real, "")
    if found is not None and not stat.S_ISREG(found.st_mode):
        shown = f"'{path}'" + (f" (a link to '{real}')" if real != path else "")
        raise SpeccError(f"cannot write {shown}: it is {kind(found)}, not a regular file; specc replaces only "
                         f"regular files", 2)
    folder = real.parent
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise WriteError(path, f"'{folder}' {what}")
    return real


def run_target(path: str | Path) -> Path:
    """The name a run-file write replaces: ``path`` itself, a symlink included; refuses other non-regular files."""
    path = Path(path)
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise WriteError(path, exc.strerror or str(exc)) from exc
    if found is not None and not (stat.S_ISREG(found.st_mode) or stat.S_ISLNK(found.st_mode)):
        raise SpeccError(f"cannot write '{path}': it is {kind(found)}, not a regular file; specc replaces only "
                         f"regular files", 2)
    if not os.path.isdir(path.parent):
        what = "is not a folder" if os.path.exists(path.parent) else "does not exist"
        raise WriteError(path, f"'{path.parent}' {what}")
    return path


def _temp_beside(target: Path) -> Path:
    """An empty new file next to ``target``: the umask decides its mode, or a regular target's mode is copied."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}{TEMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temp, flags, 0o666)  # 0666 & ~umask, as for any new file
    try:
        old = os.lstat(target) if os.path.lexists(target) else None
        if old is not None and stat.S_ISREG(old.st_mode):  # a link's own mode means nothing
            os.fchmod(fd, stat.S_IMODE(old.st_mode))
            if os.geteuid() == 0:  # root rewriting a user's file leaves it theirs
                with contextlib.suppress(OSError):
                    os.fchown(fd, old.st_uid, old.st_gid)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return temp


@contextlib.contextmanager
def replacing(path: str | Path, *, follow_links: bool = True) -> Iterator[Path]:
    """A temporary path to fill; renamed over ``path`` when the block ends normally, removed otherwise.

    The temporary file exists before the block runs, so an unwritable folder
    fails at once, before any work. OSError becomes WriteError (status 2).
    ``follow_links=False`` is for run files: a link at ``path`` is replaced, never followed.
    """
    target = target_of(path) if follow_links else run_target(path)
    try:
        temp = _temp_beside(target)
    except OSError as exc:
        raise WriteError(path, exc.strerror or str(exc)) from exc
    try:
        yield temp
        _fsync_file(temp)
        os.replace(temp, target)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise WriteError(path, exc.strerror or str(exc)) from exc
        raise
    _fsync_dir(target.parent)


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], object], *, follow_links: bool = True) -> None:
    """Fill ``path`` through ``write(handle)``, atomically (see :func:`replacing`)."""
    with replacing(path, follow_links=follow_links) as temp:
        try:
            with open(temp, "wb") as handle:
                write(handle)
        except OSError as exc:
            raise WriteError(path, exc.strerror or str(exc)) from exc


def write_run_file(folder: str | Path, name: str, write: Callable[[IO[bytes]], object]) -> Path:
    """Fill ``folder/name``, a name specc picks, through ``write(handle)``: atomically, and a symlink
    named so is replaced, never written through. Returns the path written."""
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        raise ValueError(f"a run file is a plain name, not {name!r}")
    path = Path(folder) / name
    write_atomic(path, write, follow_links=False)
    return path


def write_text(path: str | Path, text: str) -> None:
    """``text`` as UTF-8 with ``\\n`` line ends, atomically; ``-`` writes it to stdout."""
    if str(path) == "-":
        import sys

        sys.stdout.write(text)
        return
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    # The rename itself survives a power cut only once the folder is synced.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
