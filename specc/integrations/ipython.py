"""The ``%%specc`` cell magic for IPython and Jupyter, loaded with ``%load_ext specc``.

    %%specc [NAME] [--select CODES] [--ignore CODES]
    input 32x32x3
    conv 8 5x5 relu
    ...

checks the cell's text as ``specc.check(text, NAME)`` does and shows the
Analysis (its table and diagnostics); with NAME, the Analysis is also stored
in the notebook variable NAME, and NAME names the spec in messages and gives
the default model name. Imports IPython, so only ``%load_ext`` loads it.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..analysis import Analysis
from ..errors import SpeccError
from ..source import read


@magic_arguments()
@argument("name", nargs="?", help="a variable to store the Analysis in; also the spec's name in messages")
@argument("--select", metavar="CODES", help="comma-separated rule codes or prefixes to enable")
@argument("--ignore", metavar="CODES", help="comma-separated rule codes or prefixes to silence")
def specc(line: str, cell: str) -> Analysis:
    """Check the cell's .cnn text and show its table and diagnostics."""
    args = parse_argstring(specc, line)
    if args.name is not None and not args.name.isidentifier():
        raise UsageError(f"%%specc {args.name}: NAME must be a Python identifier (a variable to store the result in)")
    try:
        # As bytes: a one-line cell is always spec text, never taken for a file name.
        analysis = read(cell.encode(), args.name, select=args.select, ignore=args.ignore, origin="--{key}")
    except SpeccError as exc:  # an unknown rule code: a usage message, not a traceback
        raise UsageError(exc.message) from None
    if args.name is not None:
        _shell().user_ns[args.name] = analysis
    return analysis


def _shell() -> Any:
    from IPython import get_ipython

    return get_ipython()


def load(ipython: Any) -> None:
    """Register ``%%specc`` with an IPython shell (what ``%load_ext specc`` calls)."""
    ipython.register_magic_function(specc, magic_kind="cell", magic_name="specc")
