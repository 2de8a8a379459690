"""Domain errors that the CLI turns into a message and an exit status."""

from __future__ import annotations


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

    Carries the Analysis as data; the CLI renders its diagnostics, and ``str()``
    renders them as `specc check --quiet` does, for library callers.
    """

    def __init__(self, analysis, refusal: str = "nothing was built"):
        self.analysis = analysis
        self.refusal = refusal
        super().__init__(f"{analysis.path} has errors; {refusal}", 1)

    def __str__(self) -> str:
        from .report import render

        return f"{self.message}\n{render([self.analysis], 'text', quiet=True, color=False)}"
