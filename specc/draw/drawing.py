"""A graph placed for drawing: which boxes are shown (one per block when
collapsed), their grid, and their geometry. The SVG and HTML renderers draw
from a ``Drawing``; dot and Mermaid leave placing to their own tools."""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import Layout, place
from .layout import grid
from .model import DrawGraph, DrawNode, shown

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
    """Place ``graph``; collapsed: one box per top-level block not in ``keep`` (:func:`.model.shown`)."""
    drawn = shown(graph, collapsed, keep)
    g = grid(drawn)
    return Drawing(drawn, g.nodes, place(drawn, g, direction))
