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
