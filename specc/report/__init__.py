"""Rendering of analyses: the only place that turns findings into output.

Each format is a function from a list of Analysis values to a string; FORMATS
maps the `--format` names to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..pipeline import Analysis
from . import concise, github, jsonfmt, sarif, text

FORMATS: dict[str, Callable[[Sequence[Analysis]], str]] = {
    "text": text.render,
    "json": jsonfmt.render,
    "sarif": sarif.render,
    "github": github.render,
    "concise": concise.render,
}


def render(analyses: Sequence[Analysis], fmt: str = "text", **options) -> str:
    return FORMATS[fmt](analyses, **options)
