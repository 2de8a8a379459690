"""Layout -> one self-contained SVG document.

Inline presentation attributes only: no CSS classes, no <style>, no script, no
external font or image, so the file looks the same in a browser, on GitHub, in
a Markdown preview and in an image viewer. Every box is a <g data-node=ID> with
a <title> tooltip (line, MACs, receptive field); every edge a <g data-edge>
holding its polyline and arrowhead; every block frame a <g data-block=PATH>, its title
a <g data-frame-title=PATH> drawn over the edges.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from . import style
from .geometry import Box, Edge, Frame, Layout
from .model import DrawGraph, DrawNode
from .style import FONT_FAMILY, FONT_SIZE, LINE, num

ARROW = 6  # arrowhead length


def render(graph: DrawGraph, layout: Layout, nodes: tuple[DrawNode, ...]) -> str:
    """The whole document. ``nodes`` are the laid-out boxes (the input included)."""
    by_id = {n.id: n for n in nodes}
    blocks = {b.path: b for b in graph.blocks}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{layout.width:g}" height="{layout.height:g}" '
        f'viewBox="0 0 {layout.width:g} {layout.height:g}" font-family={quoteattr(FONT_FAMILY)} '
        f'font-size="{FONT_SIZE}" data-model={quoteattr(graph.name)} data-direction="{layout.direction}">',
        f"<title>{escape(graph.name)}: drawn by specc</title>",
        f'<rect x="0" y="0" width="{layout.width:g}" height="{layout.height:g}" fill="{style.BACKGROUND}"/>',
    ]
    parts += [_frame(f, blocks.get(f.path)) for f in layout.frames]
    parts += [_edge(e) for e in layout.edges]
    parts += [_frame_title(f, blocks.get(f.path)) for f in layout.frames]  # over the edges, which may pass under
    parts += [_box(b, by_id[b.id]) for b in layout.boxes]
    parts += ["</svg>", ""]  # the empty part ends the text with a newline, without copying it again
    return "\n".join(parts)


def _frame(frame: Frame, block) -> str:
    tip = frame.path if block is None else (f"{frame.path} (line {block.line}): output {block.shape_text}\n"
                                            f"params {num(block.params)}, MACs {num(block.macs)}")
    fill, stroke = style.FRAME
    return (f"<g data-block={quoteattr(frame.path)}><title>{escape(tip)}</title>"
            f'<rect x="{frame.x:g}" y="{frame.y:g}" width="{frame.w:g}" height="{frame.h:g}" rx="8" '
            f'fill="{fill}" fill-opacity="0.45" stroke="{stroke}" stroke-dasharray="5 3"/></g>')


def _frame_title(frame: Frame, block) -> str:
    """The frame's title, outlined in the background colour so an edge passing under it leaves it legible."""
    title = frame.path if block is None else f"{frame.path} · {style.params_text(block)}"
    stroke = style.FRAME[1]
    return (f"<g data-frame-title={quoteattr(frame.path)}>"
            f'<text x="{frame.x + 8:g}" y="{frame.y + 13:g}" fill="{stroke}" font-weight="bold" '
            f'stroke="{style.BACKGROUND}" stroke-width="3" stroke-linejoin="round" paint-order="stroke">'
            f"{escape(title)}</text></g>")


def _edge(edge: Edge) -> str:
    points = " ".join(f"{x:g},{y:g}" for x, y in edge.points)
    (x0, y0), (x1, y1) = edge.points[-2], edge.points[-1]
    dx, dy = (x1 > x0) - (x1 < x0), (y1 > y0) - (y1 < y0)  # the last piece is axis-parallel
    px, py = -dy * ARROW / 2, dx * ARROW / 2
    head = (f"{x1:g},{y1:g} {x1 - dx * ARROW + px:g},{y1 - dy * ARROW + py:g} "
            f"{x1 - dx * ARROW - px:g},{y1 - dy * ARROW - py:g}")
    return (f"<g data-edge={quoteattr(edge.source + ' -> ' + edge.target)} "
            f"data-from={quoteattr(edge.source)} data-to={quoteattr(edge.target)}>"
            f'<polyline points="{points}" fill="none" stroke="{style.EDGE}" stroke-width="1.4" '
            f'stroke-linejoin="round"/><polygon points="{head}" fill="{style.EDGE}"/></g>')


def _box(box: Box, node: DrawNode) -> str:
    fill, stroke = style.colours(node.base_kind)
    label, middle, params = style.box_lines(node)
    cx = box.x + box.w / 2
    top = box.y + (box.h - 3 * LINE) / 2 + LINE - 3
    texts = [f'<text x="{cx:g}" y="{top:g}" text-anchor="middle" fill="{style.TEXT}" font-weight="bold">'
             f"{escape(label)}</text>",
             f'<text x="{cx:g}" y="{top + LINE:g}" text-anchor="middle" fill="{style.MUTED}">{escape(middle)}</text>']
    if params:
        texts.append(f'<text x="{cx:g}" y="{top + 2 * LINE:g}" text-anchor="middle" fill="{style.MUTED}">'
                     f"{escape(params)}</text>")
    path = f" data-path={quoteattr(node.label)}" if node.kind == "block" else ""  # the block a click expands
    return (f"<g data-node={quoteattr(node.id)} data-kind={quoteattr(node.kind)}{path}>"
            f"<title>{escape(style.tooltip(node))}</title>"
            f'<rect x="{box.x:g}" y="{box.y:g}" width="{box.w:g}" height="{box.h:g}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.2"/>' + "".join(texts) + "</g>")
