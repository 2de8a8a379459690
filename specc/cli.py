"""The command line: `specc check | new | compile | draw | train | export | predict | val | rules | rule |
schema | server`.

Each command lives in specc/commands/<name>.py with ``add(subparsers)`` and
``run(args) -> int``; those modules import nothing heavy at module level, so
`specc check` never pays for torch. Domain errors become exit statuses here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import SpeccError, SpecCheckError
from .extras import needs

COMMANDS = ("check", "new", "compile", "draw", "train", "export", "predict", "val", "rules", "schema",
            "server")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="specc", description="Design, check, compile, train and export convolutional networks.")
    top.add_argument("--version", action="version", version=f"specc {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"specc.commands.{name}")
        module.add(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with needs(f"specc {args.command}"):  # torch, onnx, ... missing: name the extra, exit 2
            status = args.run(args)
        sys.stdout.flush()  # here, not at exit: a full disk or closed pipe must be reported, not traced back
        return status
    except SpecCheckError as exc:
        from .report import render

        print(f"specc: error: {exc.message}\n{render([exc.analysis], 'text', quiet=True, color=False)}",
              file=sys.stderr)
        return exc.status
    except SpeccError as exc:
        print(f"specc: error: {exc.message}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("specc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError as exc:  # the reader went away (`| head`): keep the verdict if one was reached
        _quiet_stdout()
        return getattr(exc, "status", 0)
    except MemoryError:
        print("specc: error: out of memory (is the data, or --data synthetic:N, larger than this machine holds?)",
              file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.filename is not None:  # a file the command opened: a bug to fix, not to hide
            raise
        _quiet_stdout()
        print(f"specc: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind stdout (a test's stream)
        pass
