"""Rendering of analyses: the only place that turns findings into output.

Each format is a module of this package with a function ``render`` from a list
of Analysis values to a string; FORMATS maps the `--format` names to them. A
format whose report grows with the layers also has ``pieces``, the same text
made and handed out a piece at a time, which `specc check` writes as it comes.
Only the format asked for is imported (json's encoder is no part of a text report).
``notebook`` is no format: it holds the views an Analysis shows in a notebook or a REPL.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads FORMATS to build its options: importing the package costs nothing else
    from ..analysis import Analysis

# `--format` name -> module, in the order `specc check --help` lists them (its choices are these keys)
FORMATS: dict[str, str] = {"text": "text", "concise": "concise", "json": "jsonfmt", "sarif": "sarif",
                           "github": "github"}


def render(analyses: Sequence[Analysis], fmt: str = "text", **options) -> str:
    return importlib.import_module(f"{__name__}.{FORMATS[fmt]}").render(analyses, **options)


def pieces(analyses: Sequence[Analysis], fmt: str = "text", **options) -> Iterable[str]:
    """``render``'s text in pieces, as they are made, for a format whose report grows with the
    layers (text, json: module-level ``pieces``); else the whole text as one piece."""
    module = importlib.import_module(f"{__name__}.{FORMATS[fmt]}")
    if hasattr(module, "pieces"):
        return module.pieces(analyses, **options)
    return [module.render(analyses, **options)]
