"""One training at a time in a run folder: RUN_DIR/.specc.lock.

The lock is a file created with O_CREAT|O_EXCL (only one process can create
it) holding the holder's pid, host and command line; it is removed when the
run ends. A lock left by a process that no longer exists on this host (kill
-9, a power cut) is stale and taken over; taking over is serialised by an
flock on the folder, so two processes cannot both take it. A lock from
another host cannot be checked and is refused with the way to remove it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import sys
from pathlib import Path

from ..errors import SpeccError

LOCK = ".specc.lock"
_LARGEST = 64 * 1024  # a lock holds a pid, a host and a command line


def _record() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)}


def _holder(lock: Path) -> dict | None:
    """What the lock file says; None if it vanished; {} if it cannot be read as a lock.

    Read without following a link and without blocking: a FIFO or a device named
    like the lock (a run folder may come from anyone) would otherwise hang or flood
    the reader; such a lock cannot be read, and is refused like any unreadable one."""
    try:
        fd = os.open(lock, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        found = json.loads(os.read(fd, _LARGEST).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    finally:
        os.close(fd)
    return found if isinstance(found, dict) else {}


def _alive(holder: dict) -> bool:
    """Whether the holder may still run: True unless it is certainly gone (this host, no such pid)."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return True  # another host, or a lock not yet (or never) filled in: it cannot be proved stale
    if pid == os.getpid():  # a dead holder's pid, reused by this very process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _create(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:
        raise SpeccError(f"cannot write in run directory '{lock.parent}': {exc.strerror or exc}", 2) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(_record(), handle)
    return True


@contextlib.contextmanager
def _serialised(folder: Path):
    """An flock on the folder while a stale lock is examined and replaced (a no-op where flock is missing)."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def acquire(folder: Path) -> Path:
    """Take the run folder's lock, or refuse (status 2) naming the process that holds it."""
    lock = folder / LOCK
    if _create(lock):
        return lock
    with _serialised(folder):
        holder = _holder(lock)
        if holder is not None and _alive(holder):
            raise SpeccError(_refusal(folder, lock, holder), 2)
        lock.unlink(missing_ok=True)  # stale: its process is gone (only flock holders remove a lock)
        if _create(lock):
            return lock
    raise SpeccError(_refusal(folder, lock, _holder(lock) or {}), 2)


def _refusal(folder: Path, lock: Path, holder: dict) -> str:
    if not holder:
        return f"run directory '{folder}' is locked ({lock} cannot be read); if no training uses it, delete {lock}"
    who = f"process {holder.get('pid')} on {holder.get('host')}"
    return (f"run directory '{folder}' is in use by {who} (`{holder.get('command', '?')}`); wait for it to end, "
            f"or train into another folder. If that process is gone, delete {lock}")


def release(lock: Path | None) -> None:
    """Remove our lock (only if it is still ours)."""
    if lock is None:
        return
    holder = _holder(lock)
    if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        with contextlib.suppress(OSError):
            lock.unlink()
