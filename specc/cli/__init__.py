"""The command line: `specc check | new | compile | draw | train | export | predict | val | rules | rule |
schema | server`.

Each command lives in specc/cli/commands/<name>.py with ``add(subparsers)`` and
``run(args) -> int``; those modules import nothing heavy at module level, so
`specc check` never pays for torch. Domain errors become exit statuses here.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

from ..errors import SpeccError, SpecCheckError, first_line, out_of_memory
from ..escape import printable
from ..extras import needs
from ..version import __version__

COMMANDS = ("check", "new", "compile", "draw", "train", "export", "predict", "val", "rules", "schema",
            "server")
MODULES = {**{name: name for name in COMMANDS}, "rule": "rules"}  # command -> its module in specc/commands


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: with every command, or with ``command``'s alone
    (importing the other commands' modules and building their options is a tenth
    of the start-up of `specc check`)."""
    top = argparse.ArgumentParser(
        prog="specc", description="Design, check, compile, train and export convolutional networks.")
    top.add_argument("--version", action="version", version=f"specc {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (MODULES[command],) if command in MODULES else COMMANDS:
        module = importlib.import_module(f"specc.cli.commands.{name}")
        module.add(sub)
    return top


def _command(argv: list[str]) -> str | None:
    """The command named by argv when it comes first (`specc check ...`), else None: the
    top-level options, help and mistakes then see every command."""
    return argv[0] if argv and argv[0] in MODULES else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        # The command's modules load here, with the collector paused: what they define holds no cycle to
        # collect, and its passes over it were a twentieth of the start of `specc check` (bench/RESULTS.md).
        collecting = gc.isenabled()
        gc.disable()
        try:
            args = parser(_command(argv)).parse_args(argv)
        finally:
            if collecting:
                gc.enable()
        with needs(f"specc {args.command}"):  # torch, onnx, ... missing: name the extra, exit 2
            status = args.run(args)
        sys.stdout.flush()  # here, not at exit: a full disk or closed pipe must be reported, not traced back
        return status
    except SpecCheckError as exc:  # the spec's own diagnostics, rendered here, as `specc check -q` does
        from ..report import render

        _error(exc.message)
        _error(render([exc.analysis], "text", quiet=True, color=False), "")
        return exc.status
    except SpeccError as exc:
        _error(exc.message)
        return exc.status
    except KeyboardInterrupt as exc:  # train says what it saved: "interrupted; the last finished epoch ..."
        _error("interrupted" + (f"; {exc.args[0]}" if exc.args else ""), "")
        return 130
    except BrokenPipeError as exc:  # the reader went away (`| head`): keep the verdict if one was reached
        _quiet_stdout()
        return getattr(exc, "status", 0)
    except (MemoryError, RuntimeError) as exc:
        if not out_of_memory(exc):  # any other RuntimeError is a bug: its traceback is wanted
            raise
        _error(f"out of memory ({first_line(exc)}); is the model, the data or --data synthetic:N larger than "
               f"this machine holds?")
        return 1
    except OSError as exc:
        if exc.filename is not None:  # a path the command looked at: say which and why
            _error(f"cannot access '{exc.filename}': {exc.strerror or exc}")
            return 2
        _quiet_stdout()
        _error(f"cannot write the output: {exc.strerror or exc}")
        return 2


def _error(message: str, prefix: str = "error: ") -> None:
    """``specc: error: ...`` on stderr, control characters shown escaped; a closed stderr is not a crash."""
    try:
        print(f"specc: {prefix}{printable(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind stdout (a test's stream)
        pass
