"""`specc server`: the language server for editors, over stdio (needs the `lsp` extra)."""

from __future__ import annotations

import argparse

from ...errors import SpeccError
from ...extras import install_hint


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="run the language server for editors (LSP over stdio)",
                       description="Run the .cnn language server on stdin/stdout: diagnostics as you type, "
                                   "shapes and parameters as inlay hints, hover, go to definition and "
                                   "completion. Editors start it themselves (docs/editors.md). "
                                   f"Needs pygls: {install_hint('lsp')}.")
    p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default; accepted for "
                                                        "clients that pass it)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import pygls  # noqa: F401
    except ImportError:
        raise SpeccError("`specc server` needs pygls, which is not installed; install the extra: "
                         f"{install_hint('lsp')}", 2) from None
    from ...lsp.server import serve

    serve()
    return 0
