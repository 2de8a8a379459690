"""Folders of images too big for memory: decoded once into an on-disk cache, read a mini-batch at a time.

`specc train --data FOLDER` decodes a folder whose pixels would take more than
``SPECC_IN_MEMORY`` MiB as float32 (512 by default; 0 streams every folder) into
one file of uint8 pixels, (N, H, W, C) in the order of the folder's files, and
trains from it: each mini-batch is read from the file, converted to float32 and
divided by 255 (exactly as a folder held in memory is), in torch's (N, C, H, W).
Memory then holds one mini-batch of pixels, whatever the number of images; the
file sits in the operating system's page cache like any other.

The cache:

- lives in ``$SPECC_CACHE`` when set, else ``$XDG_CACHE_HOME/specc`` or
  ``~/.cache/specc``, under ``images/``; each file is named by a SHA-256 of
  what its pixels depend on: every image's path, size and modification time,
  in order, the spec's input shape, the colour mode, ``--resize`` and Pillow's
  version. A changed, added or removed image makes another key: decoded anew.
- is written atomically: the pixels go to ``KEY.PID.partial``, renamed to
  ``KEY.npy`` once every image is in, so a decode that is killed never leaves
  a file that a later run would read (its ``.partial`` is removed by the next
  decode of the same key). Two processes asking for the same key (torchrun's
  ranks) take turns through a lock file; the second finds the first one's file.
- is an .npy file (uint8, never pickled): ``np.load(path, mmap_mode="r")``
  reads it. Delete the folder to reclaim the space; nothing else refers to it.

Decoding runs in ``SPECC_WORKERS`` processes (default: the CPUs this process may
use, at most 8; 1 decodes in this process; a process gets at least 256 images),
each a fresh ``python -m specc.runtime.store`` that writes its share of rows into
the file (no fork of a process holding torch's threads, and no re-run of the
caller's script, as multiprocessing's spawn would do), with a progress line on a
terminal. The first image that cannot be read (lowest in the folder's order) is
refused with the message a folder held in memory gives. Decoding imports numpy
and Pillow; torch is imported only when a mini-batch is made.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from ..errors import SpeccError

if TYPE_CHECKING:
    import torch

CACHE_ENV, IN_MEMORY_ENV, WORKERS_ENV = "SPECC_CACHE", "SPECC_IN_MEMORY", "SPECC_WORKERS"
IN_MEMORY_MIB = 512  # folders whose float32 pixels take at most this are held in memory
MOST_WORKERS = 8
FORMAT = "specc decoded images 1"  # part of every key: a new layout makes new files
_CHUNK = 64  # images decoded, then written at once
_LEAST = 256  # images worth starting a process for


def cache_root() -> Path:
    """Where decoded folders are kept: $SPECC_CACHE, else $XDG_CACHE_HOME/specc or ~/.cache/specc."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "specc"


def in_memory_bytes() -> int:
    """The largest folder (float32 pixels, in bytes) held in memory rather than streamed."""
    return _whole(IN_MEMORY_ENV, IN_MEMORY_MIB, "MiB") * 2**20


def workers() -> int:
    """How many processes decode a folder: $SPECC_WORKERS, else the usable CPUs, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]  # Linux only
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, _whole(WORKERS_ENV, min(MOST_WORKERS, cpus), "processes"))


def _whole(name: str, default: int, unit: str) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise SpeccError(f"${name} is {text!r}; expected a whole number of {unit} (0 or more)", 2)
    return value


@dataclass(frozen=True)
class Stored:
    """Images in a cache file, shown as torch shows a float32 (N, C, H, W) tensor of pixels / 255.

    ``t[idx]`` (idx a LongTensor, an integer array or a slice) reads those rows and
    returns a float32 tensor; ``t[i]`` one image (C, H, W). ``rows(order)`` is a
    selection of the images without reading any (a train/validation split).
    """

    path: Path
    image: tuple[int, int, int]  # (H, W, C) of every image
    offset: int  # where the pixels start in the file (after the .npy header)
    count: int  # images in the file
    order: np.ndarray | None = field(default=None, compare=False)  # which rows, in order; None: all

    def __len__(self) -> int:
        return self.count if self.order is None else len(self.order)

    def __repr__(self) -> str:
        height, width, channels = self.image
        return f"Stored('{self.path}', {len(self):,} of {self.count:,} images of {height}x{width}x{channels})"

    @property
    def shape(self) -> tuple[int, ...]:
        height, width, channels = self.image
        return (len(self), channels, height, width)

    @property
    def ndim(self) -> int:
        return 4

    @property
    def device(self) -> torch.device:
        import torch

        return torch.device("cpu")  # always read into host memory

    def rows(self, order: np.ndarray) -> Stored:
        """These images (indices into this selection), unread."""
        picked = np.asarray(order, dtype=np.int64)
        return Stored(self.path, self.image, self.offset, self.count,
                      picked if self.order is None else self.order[picked])

    def __getitem__(self, key: int | slice | np.ndarray | torch.Tensor) -> torch.Tensor:
        import torch

        if isinstance(key, (int, np.integer)):
            return self[np.asarray([key])][0]
        if isinstance(key, slice):
            wanted = np.arange(len(self))[key]
        elif isinstance(key, torch.Tensor):
            wanted = key.cpu().numpy()
        else:
            wanted = np.asarray(key)
        wanted = wanted.astype(np.int64, copy=False).reshape(-1)
        if wanted.size and (wanted.min() < -len(self) or wanted.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} images")
        wanted = np.where(wanted < 0, wanted + len(self), wanted)
        pixels = self.pixels(wanted if self.order is None else self.order[wanted])
        # As a folder held in memory is scaled: float32 / float32(255), then channels first.
        scaled = pixels.astype(np.float32) / np.float32(255)
        return torch.from_numpy(np.ascontiguousarray(np.moveaxis(scaled, -1, 1)))

    def array(self) -> np.ndarray:
        """Every image of this selection read into memory: (n, H, W, C) float32, pixels / 255."""
        rows = np.arange(self.count) if self.order is None else self.order
        return self.pixels(rows).astype(np.float32) / np.float32(255)

    def pixels(self, rows: np.ndarray) -> np.ndarray:
        """The file's rows ``rows`` as uint8 (n, H, W, C); runs of consecutive rows are read at once."""
        size = int(np.prod(self.image))
        out = np.empty((len(rows), size), dtype=np.uint8)
        if len(rows):
            breaks = np.flatnonzero(np.diff(rows) != 1) + 1
            starts, ends = np.concatenate([[0], breaks]), np.concatenate([breaks, [len(rows)]])
            offsets = (self.offset + rows[starts] * size).tolist()
            views = [out[a:b].data.cast("B") for a, b in zip(starts.tolist(), ends.tolist())]
            with open(self.path, "rb", buffering=0) as f:
                read = _reader(f)
                for view, at in zip(views, offsets):
                    if read(view, at) != len(view):
                        raise SpeccError(f"the image cache '{self.path}' was cut short while in use; "
                                         f"delete it and train again")
        return out.reshape(len(rows), *self.image)


def _reader(f: BinaryIO) -> Callable[[memoryview, int], int]:
    """``read(buffer, offset)`` from ``f``: one system call where the platform has preadv, else a seek and a read."""
    if hasattr(os, "preadv"):
        fd = f.fileno()
        return lambda buffer, at: os.preadv(fd, [buffer], at)

    def read(buffer: memoryview, at: int) -> int:
        f.seek(at)
        return f.readinto(buffer) or 0  # type: ignore[attr-defined]  # a raw file (buffering=0) has readinto

    return read


def decoded(files: Sequence[Path], shape: tuple[int, int, int], mode: str, resize: bool) -> Stored:
    """The images ``files`` decoded at ``shape`` (H, W, C) in ``mode``: from the cache, or decoded into it now."""
    folder = cache_root() / "images"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpeccError(f"cannot make the image cache folder '{folder}': {exc.strerror or exc}; set "
                         f"${CACHE_ENV} to a folder you can write, or ${IN_MEMORY_ENV} higher to hold the "
                         f"images in memory", 2) from exc
    name = key(files, shape, mode, resize)
    final = folder / f"{name}.npy"
    found = _opened(final, len(files), shape)
    if found is not None:
        return found
    with _locked(folder / f"{name}.lock"):
        found = _opened(final, len(files), shape)  # another process may have made it meanwhile
        if found is not None:
            return found
        for stale in folder.glob(f"{name}.*.partial"):  # a killed decode's: nobody writes it (we hold the lock)
            stale.unlink(missing_ok=True)
        partial = folder / f"{name}.{os.getpid()}.partial"
        try:
            offset = _allocate(partial, (len(files), *shape))
            _decode_all(partial, offset, files, shape, mode, resize)
            os.replace(partial, final)
        except OSError as exc:  # a full disk, a folder that cannot be written
            partial.unlink(missing_ok=True)
            raise SpeccError(_unwritable(partial, exc), 2) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    found = _opened(final, len(files), shape)
    assert found is not None  # just written whole
    return found


def key(files: Sequence[Path], shape: tuple[int, int, int], mode: str, resize: bool) -> str:
    """What the decoded pixels depend on, hashed: every file's path, size and time, the shape, mode, resize."""
    import PIL

    digest = hashlib.sha256(f"{FORMAT}\n{PIL.__version__}\n{shape}\n{mode}\n{resize}\n".encode())
    for file in files:
        try:
            found = os.stat(file)
        except OSError as exc:
            raise SpeccError(f"cannot read image '{file}': {exc.strerror or exc}") from exc
        digest.update(f"{os.path.abspath(file)}\0{found.st_size}\0{found.st_mtime_ns}\n".encode(errors="surrogateescape"))
    return digest.hexdigest()[:32]


def _unwritable(path: Path, exc: OSError) -> str:
    return (f"cannot write the image cache '{path}': {exc.strerror or exc}; free space there, set ${CACHE_ENV} "
            f"to a folder you can write, or ${IN_MEMORY_ENV} higher to hold the images in memory")


def _opened(path: Path, count: int, shape: tuple[int, int, int]) -> Stored | None:
    """The cache file at ``path`` if it is whole and holds ``count`` images of ``shape``; else None."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            found, fortran, dtype = header(f)
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
    except (OSError, ValueError):
        return None
    if found != (count, *shape) or fortran or dtype != np.uint8 or size != offset + count * int(np.prod(shape)):
        return None
    return Stored(path, shape, offset, count)


def _allocate(path: Path, shape: tuple[int, ...]) -> int:
    """An .npy file of uint8 zeros of ``shape`` (sparse where the file system allows); where its pixels start."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": shape})
        offset = f.tell()
        f.truncate(offset + int(np.prod(shape)))
    return offset


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (released when this process ends, however it ends); none where flock is missing."""
    try:
        import fcntl
    except ImportError:  # not POSIX: two processes may both decode; the rename keeps the file whole
        yield
        return
    try:
        f = open(path, "a")  # noqa: SIM115 -- closed below
    except OSError as exc:
        raise SpeccError(_unwritable(path, exc), 2) from exc
    with f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _decode_all(path: Path, offset: int, files: Sequence[Path], shape: tuple[int, int, int], mode: str,
                resize: bool) -> None:
    """Every image into its row of ``path``, in worker processes; the first failure (in file order) is raised."""
    count = max(1, min(workers(), len(files) // _LEAST))
    progress = _Progress(len(files), count, path.parent)
    task = {"path": str(path), "offset": offset, "shape": list(shape), "mode": mode, "resize": resize}
    if count == 1:
        failures = [f for f in [decode_rows(dict(task, start=0, files=[str(f) for f in files]), progress.advance)]
                    if f is not None]
    else:
        bounds = [len(files) * k // count for k in range(count + 1)]
        tasks = [dict(task, start=a, files=[str(f) for f in files[a:b]]) for a, b in zip(bounds, bounds[1:])]
        failures = _in_processes(tasks, progress)
    progress.close(not failures)
    if failures:
        _, message, status = min(failures)
        raise SpeccError(message, status)


def _in_processes(tasks: list[dict], progress: _Progress) -> list[tuple[int, str, int]]:
    """Each task in a process of its own (``python -m specc.runtime.store``, its task on stdin, its progress
    as JSON lines on stdout); the failures. A process whose rows all come after a failure is stopped."""
    import json
    import queue
    import subprocess
    import tempfile
    import threading

    package = str(Path(__file__).resolve().parent.parent.parent)  # where `specc` is imported from
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package, *filter(None, [os.environ.get("PYTHONPATH")])]))
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()
    procs: list[subprocess.Popen] = []
    stopped: set[int] = set()  # processes stopped because a failure came before their images
    errors = tempfile.TemporaryFile("w+")  # what a process that crashes says

    def read(k: int, stream) -> None:
        for line in stream:
            lines.put((k, line))
        lines.put((k, None))

    try:
        for k, task in enumerate(tasks):
            proc = subprocess.Popen([sys.executable, "-m", "specc.runtime.store"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
            procs.append(proc)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(task))
            proc.stdin.close()
            threading.Thread(target=read, args=(k, proc.stdout), daemon=True).start()
        failures: list[tuple[int, str, int]] = []
        running = len(procs)
        while running:
            k, line = lines.get()
            if line is None:
                running -= 1
                continue
            said = json.loads(line)
            if "done" in said:
                progress.advance(said["done"])
            else:
                failures.append((said["row"], said["message"], said["status"]))
                first = min(failures)[0]
                for j, task in enumerate(tasks):  # their images all come after the failure: not needed
                    if task["start"] > first and j not in stopped:
                        procs[j].kill()
                        stopped.add(j)
        for j, proc in enumerate(procs):
            if proc.wait() != 0 and j not in stopped:
                errors.seek(0)
                said = errors.read().strip()[-2000:] or "no message"
                raise SpeccError(f"a process decoding images into the cache failed (exit status {proc.returncode}): "
                                 f"{said}")
        return failures
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        errors.close()


def decode_rows(task: dict, advance: Callable[[int], None]) -> tuple[int, str, int] | None:
    """Decode ``task["files"]`` into rows ``task["start"]``… of the cache file ``task["path"]``, telling
    ``advance`` of every chunk written; the first failure as (row, message, exit status), else None."""
    from .samples import pixels

    shape, start, files = tuple(task["shape"]), task["start"], task["files"]
    size = int(np.prod(shape))
    with open(task["path"], "r+b") as f:
        for first in range(0, len(files), _CHUNK):
            names = files[first:first + _CHUNK]
            rows = np.empty((len(names), *shape), dtype=np.uint8)
            for i, name in enumerate(names):
                try:
                    rows[i] = pixels(Path(name), shape, task["mode"], task["resize"])
                except SpeccError as exc:
                    return start + first + i, exc.message, exc.status
            try:
                f.seek(task["offset"] + (start + first) * size)
                f.write(rows.tobytes())
            except OSError as exc:  # a full disk
                return start + first, _unwritable(Path(task["path"]), exc), 2
            advance(len(names))
    return None


def _worker() -> None:
    """A decoding process: its task (JSON) on stdin; `{"done": n}` per chunk, or the failure, on stdout."""
    import json

    def say(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    failure = decode_rows(json.loads(sys.stdin.read()), lambda n: say({"done": n}))
    if failure is not None:
        row, message, status = failure
        say({"row": row, "message": message, "status": status})


class _Progress:
    """`decoding 12,345/100,000 images into ~/.cache/specc/images (8 processes)` on a terminal's stderr."""

    def __init__(self, total: int, processes: int, folder: Path):
        self.total, self.done, self.start, self.shown = total, 0, time.monotonic(), 0.0
        self.live = sys.stderr is not None and sys.stderr.isatty()
        where = str(folder).replace(os.path.expanduser("~"), "~", 1)
        self.text = f"decoding {{}}/{total:,} images into {where} ({processes} process{'es' * (processes != 1)})"
        self._show(force=True)

    def advance(self, n: int) -> None:
        self.done += n
        self._show()

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.live and (force or now - self.shown > 0.2 or self.done == self.total):
            self.shown = now
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write("\r" + self.text.format(f"{self.done:,}"))
                sys.stderr.flush()

    def close(self, whole: bool) -> None:
        if self.live:
            seconds = time.monotonic() - self.start
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write(f" in {seconds:.1f}s\n" if whole else "\n")
                sys.stderr.flush()


if __name__ == "__main__":
    _worker()
