"""Rendering of analyses: the only place that turns findings into output.

Each format is a module of this package with a function ``render`` from a list
of Analysis values to a string; FORMATS maps the `--format` names to them.
Only the format asked for is imported (json's encoder is no part of a text report).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from ..pipeline import Analysis

FORMATS: dict[str, str] = {"text": "text", "json": "jsonfmt", "sarif": "sarif", "github": "github",
                           "concise": "concise"}


def render(analyses: Sequence[Analysis], fmt: str = "text", **options) -> str:
    return importlib.import_module(f"{__name__}.{FORMATS[fmt]}").render(analyses, **options)
