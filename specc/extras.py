"""Optional dependencies: which extra provides which module, and the error that says so.

`specc check` and `specc compile` need neither torch nor onnx; the other
commands do. Rather than guessing in advance what is installed, the commands
run inside :func:`needs`, which turns the ModuleNotFoundError of the import
that actually failed into a clear message naming the extra to install
(exit 2). A module not listed here is a bug, and its error passes through.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .errors import SpeccError

# The name pip knows specc by: `specc` on PyPI is another project (pyproject.toml).
DISTRIBUTION = "specc-cnn"
# Top-level module -> the extra (pyproject.toml's [project.optional-dependencies]) that installs it.
EXTRA_OF = {
    "torch": "torch", "numpy": "torch", "tqdm": "torch", "matplotlib": "torch", "sklearn": "torch",
    "h5py": "torch", "PIL": "torch",
    "onnx": "onnx", "onnxruntime": "onnx", "onnxscript": "onnx",
}
PACKAGE_OF = {"sklearn": "scikit-learn", "PIL": "pillow"}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``, as every message and doc writes it."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


class MissingExtra(SpeccError, ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def missing(exc: ModuleNotFoundError, what: str) -> MissingExtra | None:
    """The error for ``exc`` raised while running ``what``; None when no extra provides the module."""
    top = (exc.name or "").partition(".")[0]
    extra = EXTRA_OF.get(top)
    if extra is None:
        return None
    package = PACKAGE_OF.get(top, top)
    error = MissingExtra(f"{what} needs {package}, which is not installed; install the extra: "
                         f"{install_hint(extra)}", 2)
    error.name = exc.name
    return error


@contextlib.contextmanager
def needs(what: str) -> Iterator[None]:
    """Run a command's body; a missing optional module becomes MissingExtra naming its extra."""
    try:
        yield
    except ModuleNotFoundError as exc:
        error = missing(exc, what)
        if error is None:
            raise
        raise error from exc
