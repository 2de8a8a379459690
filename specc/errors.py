"""Domain errors that the CLI turns into a message and an exit status."""

from __future__ import annotations

import re
from pathlib import Path

from .diagnostics import one_line
from .escape import printable


class SpeccError(Exception):
    """A user-facing failure: a clear message, no traceback.

    ``status`` follows the check contract: 1 for a problem with the user's
    spec, data or checkpoint, 2 for a usage or I/O problem.
    """

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status

    def _render_traceback_(self) -> list[str]:
        """What IPython and Jupyter show in place of a traceback: the message, as the CLI prints it."""
        return f"{type(self).__name__}: {self}".splitlines()


class SpecCheckError(SpeccError):
    """A spec with errors, refused by a command that needs a clean one (compile, build, train, export).

    Carries the Analysis as data; the CLI renders its diagnostics with their
    source lines, and ``str()`` gives one line per diagnostic (as `specc check
    --format concise` does) after the message, for library callers.
    """

    def __init__(self, analysis, refusal: str = "nothing was built"):
        self.analysis = analysis
        self.refusal = refusal
        super().__init__(f"{analysis.path} has errors; {refusal}", 1)

    def __str__(self) -> str:
        lines = (one_line(d, self.analysis.path) for d in self.analysis.diagnostics)
        return printable("\n".join((self.message, *lines)))


class WriteError(SpeccError):
    """A file could not be written (disk full, permission denied, ...); ``path`` is the file meant.

    Status 2, an I/O problem. Training adds where the last good epoch is.
    """

    def __init__(self, path: str | Path, reason: str, what: str = ""):
        super().__init__(f"cannot write {what}'{path}': {reason}", 2)
        self.path = Path(path)
        self.reason = reason


def out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or torch's allocator failing: the CPU allocator's RuntimeError, CUDA's OutOfMemoryError."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text.lower())


# The colour codes (SGR) torch's exporter puts in its messages: noise once they are shown escaped.
_COLOURS = re.compile("\x1b\\[[0-9;]*m")


def first_line(exc: BaseException) -> str:
    """An exception's own reason, without colour codes, torch's C++ source location or paragraphs of advice."""
    text = _COLOURS.sub("", str(exc)).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    line = re.sub(r"^\[enforce fail at [^\]]*\][\s.]*(\w+ == \w+\.\s*)?", "", line)  # torch's C++ check
    return line or type(exc).__name__


def first_sentence(exc: BaseException) -> str:
    """The first sentence of :func:`first_line`, without its full stop: torch's reason without the
    advice it writes after it on the same line (checkpoints, the ONNX exporter)."""
    return first_line(exc).split(". ")[0].removesuffix(".")


def memory_refusal(exc: BaseException, what: str) -> SpeccError:
    """The SpeccError for running out of memory while doing ``what`` (status 1: the model or data is too big)."""
    return SpeccError(f"out of memory {what} ({first_line(exc)}); the model or the data is larger than this "
                      f"machine can hold")


LONG_PATH = 120  # characters of a path a message shows whole; a longer one keeps its start and its end


def quoted_path(path: str | Path) -> str:
    """A path quoted for a message; a very long one (a folder 500 levels deep) as its start, `…` and its
    end, cut at separators, with its length: `'deep/aaaa/…/aaaa/inner' (a path of 25,003 characters)`."""
    text = str(path)
    if len(text) <= LONG_PATH:
        return f"'{text}'"
    head, tail = text[:LONG_PATH // 2], text[-(LONG_PATH // 2):]
    head = head[:head.rfind("/") + 1] or head  # whole names where the path has separators
    tail = tail[tail.find("/"):] if "/" in tail else tail
    return f"'{head}…{tail}' (a path of {len(text):,} characters)"


def described(exc: BaseException) -> str:
    """An unexpected exception in one short line: `OverflowError: int too large to convert to float`."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__
