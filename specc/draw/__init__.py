"""`specc draw`: a picture of a spec, as SVG, a one-file HTML page, Graphviz dot or Mermaid.

    Analysis ─adapter→ DrawGraph ─collapse?→ DrawGraph ─layout→ Grid ─geometry→ Layout ─render→ text

Pure Python, no dependency beyond the standard library, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import Layout, place
from .layout import grid
from .model import DrawGraph, DrawNode, collapse

DIRECTIONS = ("TB", "LR")
COLLAPSE_ABOVE = 60  # layers; above this a drawing shows one box per block unless --expand


@dataclass(frozen=True)
class Drawing:
    graph: DrawGraph  # what was laid out (collapsed or not)
    nodes: tuple[DrawNode, ...]  # its boxes, the input first
    layout: Layout


def should_collapse(graph: DrawGraph, choice: bool | None) -> bool:
    if choice is not None:
        return choice
    return len(graph.nodes) > COLLAPSE_ABOVE and any(b.parent is None for b in graph.blocks)


def lay_out(graph: DrawGraph, direction: str = "TB", collapsed: bool = False,
            keep: frozenset[str] = frozenset()) -> Drawing:
    """Place ``graph``; collapsed: one box per top-level block not in ``keep``."""
    shown = collapse(graph, keep) if collapsed else graph
    g = grid(shown)
    return Drawing(shown, g.nodes, place(shown, g, direction))


def draw(graph: DrawGraph, fmt: str = "svg", direction: str = "TB", collapsed: bool | None = None) -> str:
    """The drawing of ``graph`` as text in format ``fmt``."""
    folded = should_collapse(graph, collapsed)
    if fmt == "dot":
        from .dot import render as dot
        return dot(collapse(graph) if folded else graph, direction)
    if fmt == "mermaid":
        from .mermaid import render as mermaid
        return mermaid(collapse(graph) if folded else graph, direction)
    if fmt == "html":
        from .html import render as html
        return html(graph, direction, folded)
    from .svg import render as svg
    d = lay_out(graph, direction, folded)
    return svg(d.graph, d.layout, d.nodes)
