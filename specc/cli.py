"""The command line: `specc check | compile | train | export | rules | rule | schema`.

Each command lives in specc/commands/<name>.py with ``add(subparsers)`` and
``run(args) -> int``; those modules import nothing heavy at module level, so
`specc check` never pays for torch. Domain errors become exit statuses here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import SpeccError

COMMANDS = ("check", "compile", "train", "export", "rules", "schema")


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
        return args.run(args)
    except SpeccError as exc:
        print(f"specc: error: {exc.message}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("specc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
