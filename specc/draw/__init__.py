"""`specc draw`: a picture of a spec, as SVG, a one-file HTML page, Graphviz dot or Mermaid.

    Analysis ─adapter→ DrawGraph ─shown→ DrawGraph ─layout→ Grid ─geometry→ Layout ─render→ text

Pure Python, no dependency beyond the standard library, no torch. ``draw``
picks the format; ``drawing.lay_out`` places a graph for the formats that draw
boxes themselves (SVG, HTML).
"""

from __future__ import annotations

from .drawing import lay_out, should_collapse
from .model import DrawGraph, shown

DIRECTIONS = ("TB", "LR")


def draw(graph: DrawGraph, fmt: str = "svg", direction: str = "TB", collapsed: bool | None = None) -> str:
    """The drawing of ``graph`` as text in format ``fmt``."""
    folded = should_collapse(graph, collapsed)
    if fmt == "dot":
        from .dot import render as dot
        return dot(shown(graph, folded), direction)
    if fmt == "mermaid":
        from .mermaid import render as mermaid
        return mermaid(shown(graph, folded), direction)
    if fmt == "html":
        from .html import render as html
        return html(graph, direction, folded)
    from .svg import render as svg
    d = lay_out(graph, direction, folded)
    return svg(d.graph, d.layout, d.nodes)
