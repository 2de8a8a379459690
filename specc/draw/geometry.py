"""Grid -> coordinates: boxes, frames and edge polylines in SVG user units.

Computed along the flow ("main": y in TB, x in LR) and across it ("cross"),
then turned into (x, y). Rank bands are as tall as their tallest box, lanes as
wide as their widest; the gaps between them grow with the slots and channels
routed through them and with the frames that end or start there, so frames
never overlap their neighbours and edge pieces never cross a box.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import style
from .layout import Grid, Route
from .model import DrawGraph, block_paths

MARGIN = 16  # around the drawing and on each side of a gap's slots
SLOT = 8  # between parallel edge pieces
FRAME_PAD = 10  # a frame's border beyond what it holds, per level of nesting
FRAME_HEADER = 16  # room for a frame's title, per level of nesting


@dataclass(frozen=True, slots=True)
class Box:
    id: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class Frame:
    path: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Layout:
    width: float
    height: float
    direction: str
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]
    frames: tuple[Frame, ...]


def _frame_spans(graph: DrawGraph, g: Grid) -> dict[str, tuple[int, int, int, int, int]]:
    """Per frame: first and last rank, first and last lane, levels (1 + frames nested inside)."""
    spans: dict[str, list[int]] = {}
    for node in graph.nodes:
        r, lane = g.rank[node.id], g.lane[node.id]
        for path in block_paths(node.block):
            s = spans.setdefault(path, [r, r, lane, lane, 1])
            s[0], s[1], s[2], s[3] = min(s[0], r), max(s[1], r), min(s[2], lane), max(s[3], lane)
    for path in sorted(spans, key=lambda p: -p.count(".")):  # inner first: levels build outwards
        if "." in path and path.rsplit(".", 1)[0] in spans:
            outer = spans[path.rsplit(".", 1)[0]]
            outer[4] = max(outer[4], spans[path][4] + 1)
    return {p: tuple(s) for p, s in spans.items()}  # type: ignore[misc]


def _extents(levels: int, header_side: bool) -> float:
    return levels * (FRAME_PAD + (FRAME_HEADER if header_side else 0))


def _bands(sizes: list[float], slots: dict[int, int], end_ext: dict[int, float],
           start_ext: dict[int, float]) -> tuple[list[float], list[float], float]:
    """Bands with a gap before each and one after the last; gap i lies before band i.

    Returns each band's start, the centre of slot 0 of each gap, and the total length.
    """
    starts, slot0, pos = [], [], 0.0
    for i in range(len(sizes) + 1):
        pos += end_ext.get(i - 1, 0.0) + MARGIN
        slot0.append(pos + SLOT / 2)
        pos += slots.get(i, 0) * SLOT + MARGIN
        if i < len(sizes):
            pos += start_ext.get(i, 0.0)
            starts.append(pos)
            pos += sizes[i]
    return starts, slot0, pos


def place(graph: DrawGraph, g: Grid, direction: str) -> Layout:
    tb = direction == "TB"
    size = {n.id: (style.box_width(n), float(style.BOX_H)) for n in g.nodes}  # (w, h)
    main = {i: (h if tb else w) for i, (w, h) in size.items()}
    cross = {i: (w if tb else h) for i, (w, h) in size.items()}
    rank_size, lane_size = [0.0] * g.ranks, [0.0] * g.lanes
    for n in g.nodes:
        rank_size[g.rank[n.id]] = max(rank_size[g.rank[n.id]], main[n.id])
        lane_size[g.lane[n.id]] = max(lane_size[g.lane[n.id]], cross[n.id])
    spans = _frame_spans(graph, g)
    r_end: dict[int, float] = {}  # how far frames reach past each rank's end and start, then each lane's
    r_start: dict[int, float] = {}
    l_end: dict[int, float] = {}
    l_start: dict[int, float] = {}
    for r0, r1, l0, l1, lv in spans.values():
        r_end[r1] = max(r_end.get(r1, 0.0), _extents(lv, False))
        r_start[r0] = max(r_start.get(r0, 0.0), _extents(lv, tb))
        l_end[l1] = max(l_end.get(l1, 0.0), _extents(lv, False))
        l_start[l0] = max(l_start.get(l0, 0.0), _extents(lv, not tb))
    # Rank gap r (grid terms: after rank r) is gap r + 1 here, before rank r + 1.
    rank_at, rank_slot0, total_main = _bands(rank_size, {r + 1: k for r, k in g.rank_slots.items()}, r_end, r_start)
    lane_at, lane_slot0, total_cross = _bands(lane_size, g.gap_slots, l_end, l_start)
    box_of = {}
    for n in g.nodes:
        r, lane = g.rank[n.id], g.lane[n.id]
        m0 = rank_at[r] + (rank_size[r] - main[n.id]) / 2
        c0 = lane_at[lane] + (lane_size[lane] - cross[n.id]) / 2
        box_of[n.id] = (m0, c0, main[n.id], cross[n.id])
    coords = _Coords(g, box_of, lane_at, lane_size, lane_slot0, rank_slot0)
    edges = tuple(Edge(rt.source, rt.target, _turn(coords.route(rt), tb)) for rt in g.routes)
    boxes = tuple(_box(n.id, box_of[n.id], tb) for n in g.nodes)
    frames = tuple(_frame(path, s, rank_at, rank_size, lane_at, lane_size, tb) for path, s in spans.items())
    frames = tuple(sorted(frames, key=lambda f: f.path.count(".")))
    w, h = (total_cross, total_main) if tb else (total_main, total_cross)
    return Layout(round(w, 1), round(h, 1), direction, boxes, edges, frames)


def _box(node_id: str, b: tuple[float, float, float, float], tb: bool) -> Box:
    m0, c0, ms, cs = b
    return Box(node_id, c0, m0, cs, ms) if tb else Box(node_id, m0, c0, ms, cs)


def _frame(path, span, rank_at, rank_size, lane_at, lane_size, tb: bool) -> Frame:
    r0, r1, l0, l1, levels = span
    m0 = rank_at[r0] - _extents(levels, tb)
    m1 = rank_at[r1] + rank_size[r1] + _extents(levels, False)
    c0 = lane_at[l0] - _extents(levels, not tb)
    c1 = lane_at[l1] + lane_size[l1] + _extents(levels, False)
    return Frame(path, c0, m0, c1 - c0, m1 - m0) if tb else Frame(path, m0, c0, m1 - m0, c1 - c0)


def _turn(points: list[tuple[float, float]], tb: bool) -> tuple[tuple[float, float], ...]:
    """(main, cross) to (x, y), rounded, without repeated or collinear middle points."""
    out: list[tuple[float, float]] = []
    for m, c in points:
        p = (round(c, 1), round(m, 1)) if tb else (round(m, 1), round(c, 1))
        if out and p == out[-1]:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
            continue
        out.append(p)
    return tuple(out)


@dataclass(frozen=True)
class _Coords:
    g: Grid
    box_of: dict
    lane_at: list[float]
    lane_size: list[float]
    lane_slot0: list[float]
    rank_slot0: list[float]

    def centre(self, node_id: str) -> float:
        """Boxes are centred on their lane: one formula for all, so a straight edge stays straight."""
        lane = self.g.lane[node_id]
        return self.lane_at[lane] + self.lane_size[lane] / 2

    def port(self, rt: Route) -> float:
        cs = self.box_of[rt.target][3]
        step = min(14.0, (cs - 16) / max(rt.ports - 1, 1))
        return self.centre(rt.target) + (rt.port - (rt.ports - 1) / 2) * step

    def channel(self, rt: Route) -> float:
        kind, index, slot = rt.channel  # type: ignore[misc]
        if kind == "lane":
            return self.lane_at[index] + self.lane_size[index] / 2
        return self.lane_slot0[index] + slot * SLOT

    def route(self, rt: Route) -> list[tuple[float, float]]:
        """The polyline as (main, cross) points, source end to target port."""
        m0, _, ms, _ = self.box_of[rt.source]
        t0 = self.box_of[rt.target][0]
        start, end = (m0 + ms, self.centre(rt.source)), (t0, self.port(rt))
        r_s, r_t = self.g.rank[rt.source], self.g.rank[rt.target]
        points = [start]
        via = start[1] if rt.channel is None else self.channel(rt)
        if rt.first is None:  # straight on from the source: the same x, not one a rounding away
            via = start[1]
        elif rt.last is None:
            via = end[1]
        if rt.first is not None:
            y = self.rank_slot0[r_s + 1] + rt.first * SLOT
            points += [(y, start[1]), (y, via)]
        if rt.last is not None:
            y = self.rank_slot0[r_t] + rt.last * SLOT
            points += [(y, via), (y, end[1])]
        points.append(end)
        return points
