"""Where things go, in grid terms: ranks, lanes and the channel of every edge.

    DrawGraph ─rank→ longest path from the input ─lane→ branches side by side ─route→ channels

Ranks run along the flow (rows in TB, columns in LR), lanes across it. Each
lane is a chain whose ranks only grow, so a box never sits on a lane below a
later box. An edge between neighbouring ranks bends once, in the gap between
them; a longer edge (a ResNet shortcut, a U-Net skip) runs straight down a lane
that is empty over its whole span, or else in a channel of its own in a gap
between lanes, where no box ever is. Horizontal pieces sit in slots of the
gaps between ranks. A box that would sit inside the frame of a block it is
not in moves to a lane beyond it. :mod:`specc.draw.geometry` turns this into coordinates.
Pure Python, linear in nodes and edges up to the slot searches.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import INPUT, DrawGraph, DrawNode, block_paths


@dataclass(frozen=True, slots=True)
class Route:
    """One edge in grid terms. ``channel`` is ("lane", l, 0), ("gap", g, slot), or None for a
    neighbouring-rank edge; ``first``/``last`` are the slots of its pieces across the rank gaps
    after its source and before its target (None: no piece there)."""

    source: str
    target: str
    channel: tuple[str, int, int] | None
    first: int | None
    last: int | None
    port: int  # index among the target's incoming edges, ordered across the flow
    ports: int  # how many edges come into the target


@dataclass(frozen=True, slots=True)
class Grid:
    nodes: tuple[DrawNode, ...]  # the input first, then the graph's nodes
    rank: dict[str, int]
    lane: dict[str, int]
    routes: tuple[Route, ...]
    lanes: int
    ranks: int
    gap_slots: dict[int, int]  # lane gap g (left of lane g) -> channel slots used
    rank_slots: dict[int, int]  # rank gap r (after rank r) -> slots used


def input_node(graph: DrawGraph) -> DrawNode:
    return DrawNode(INPUT, "input", "input", graph.input_shape_text, None, None, None, 0, None, ())


def grid(graph: DrawGraph) -> Grid:
    nodes = (input_node(graph), *graph.nodes)
    known = {n.id for n in nodes}
    for node in graph.nodes:
        missing = [i for i in node.inputs if i not in known]
        if missing or not node.inputs:
            raise ValueError(f"node {node.id!r} reads {missing or 'nothing'}: inputs must name earlier nodes")
        known.add(node.id)
    rank = ranks(nodes)
    lane = clear_frames(nodes, rank, lanes(nodes, rank))
    return _route(nodes, rank, lane)


def ranks(nodes: tuple[DrawNode, ...]) -> dict[str, int]:
    """Longest path from the input: a merge sits below the longest of its branches."""
    rank: dict[str, int] = {}
    for node in nodes:
        rank[node.id] = 1 + max((rank[i] for i in node.inputs), default=-1)
    return rank


def lanes(nodes: tuple[DrawNode, ...], rank: dict[str, int]) -> dict[str, int]:
    """Continue a chain in its lane; a merge under the middle of the chains it ends; a branch to the right."""
    lane: dict[str, int] = {}
    tail: list[tuple[str, int]] = []  # lane -> (last node, its rank)
    for node in nodes:
        r = rank[node.id]
        ends = sorted({lane[i] for i in node.inputs if tail[lane[i]][0] == i})
        if ends:
            chosen = ends[(len(ends) - 1) // 2]
        else:
            chosen = min((lane[i] for i in node.inputs), default=-1) + 1
            while chosen < len(tail) and tail[chosen][1] >= r:
                chosen += 1
        if chosen == len(tail):
            tail.append((node.id, r))
        tail[chosen] = (node.id, r)
        lane[node.id] = chosen
    return lane


def _spans(nodes: tuple[DrawNode, ...], rank: dict[str, int], lane: dict[str, int]) -> dict[str, list[int]]:
    """Per block path: first and last rank, first and last lane of its members."""
    spans: dict[str, list[int]] = {}
    for node in nodes:
        r, c = rank[node.id], lane[node.id]
        for path in block_paths(node.block):
            s = spans.setdefault(path, [r, r, c, c])
            s[:] = [min(s[0], r), max(s[1], r), min(s[2], c), max(s[3], c)]
    return spans


def clear_frames(nodes: tuple[DrawNode, ...], rank: dict[str, int], lane: dict[str, int]) -> dict[str, int]:
    """Move a box that would sit inside the frame of a block it is not in to a lane right of that frame.

    Rare (a branch that runs beside a block without being part of it), so it is a repair pass,
    not a constraint of the lane assignment; bounded, in case moves keep making room for others.
    """
    lane = dict(lane)
    for _ in range(len(nodes)):
        spans = _spans(nodes, rank, lane)
        taken = {(rank[n.id], lane[n.id]) for n in nodes}
        intruder = next(((n, s) for n in nodes if (s := _covering(spans, n, rank[n.id], lane[n.id]))), None)
        if intruder is None:
            break
        node, span = intruder
        target = span[3] + 1
        while (rank[node.id], target) in taken or _covering(spans, node, rank[node.id], target):
            target += 1
        lane[node.id] = target
    return lane


def _covering(spans: dict[str, list[int]], node: DrawNode, r: int, c: int) -> list[int] | None:
    """The span of a frame ``node`` is not in that covers cell (r, c), if any."""
    own = set(block_paths(node.block))
    return next((s for p, s in spans.items() if p not in own and s[0] <= r <= s[1] and s[2] <= c <= s[3]), None)


class _Slots:
    """First-fit interval colouring: one list of taken intervals per slot."""

    def __init__(self) -> None:
        self.taken: list[list[tuple[float, float]]] = []

    def place(self, lo: float, hi: float) -> int:
        for k, intervals in enumerate(self.taken):
            if all(hi < a or lo > b for a, b in intervals):
                intervals.append((lo, hi))
                return k
        self.taken.append([(lo, hi)])
        return len(self.taken) - 1


def _route(nodes: tuple[DrawNode, ...], rank: dict[str, int], lane: dict[str, int]) -> Grid:
    n_lanes = 1 + max(lane.values())
    cells = {(rank[n.id], lane[n.id]) for n in nodes}
    lane_use: dict[int, list[tuple[int, int]]] = {}
    gaps: dict[int, _Slots] = {}
    edges = [(i, n.id) for n in nodes for i in n.inputs]
    channels = {}
    # Shortest edges first: they take the channels nearest the boxes and longer ones run outside
    # them, so nested skips (U-Net) nest without crossing.
    for source, target in sorted(edges, key=lambda e: rank[e[1]] - rank[e[0]]):
        if rank[target] - rank[source] > 1:
            channels[(source, target)] = _channel(source, target, rank, lane, cells, lane_use, gaps, n_lanes)
    routes = _pieces(nodes, edges, channels, rank, lane)
    gap_slots = {g: len(s.taken) for g, s in gaps.items()}
    rank_slots: dict[int, int] = {}
    for route in routes:
        for r, slot in ((rank[route.source], route.first), (rank[route.target] - 1, route.last)):
            if slot is not None:
                rank_slots[r] = max(rank_slots.get(r, 0), slot + 1)
    return Grid(nodes, rank, lane, routes, n_lanes, 1 + max(rank.values()), gap_slots, rank_slots)


def _channel(source, target, rank, lane, cells, lane_use, gaps, n_lanes) -> tuple[str, int, int]:
    lo, hi = rank[source], rank[target]
    for candidate in dict.fromkeys((lane[source], lane[target])):
        empty = all((r, candidate) not in cells for r in range(lo + 1, hi))
        free = all(hi < a or lo > b for a, b in lane_use.get(candidate, []))
        if empty and free:
            lane_use.setdefault(candidate, []).append((lo, hi))
            return ("lane", candidate, 0)
    a, b = lane[source] + 0.5, lane[target] + 0.5
    # Nearest gap to both ends; on a tie the right-hand one (branches grow to the right).
    g = min(range(n_lanes + 1), key=lambda g: (abs(g - a) + abs(g - b), -g))
    return ("gap", g, gaps.setdefault(g, _Slots()).place(lo, hi))


def _cross(channel: tuple[str, int, int] | None, node_lane: int) -> float:
    """A channel's place across the flow in lane units (lane l's centre is l + 0.5)."""
    if channel is None:
        return node_lane + 0.5
    return channel[1] + 0.5 if channel[0] == "lane" else float(channel[1])


def _pieces(nodes, edges, channels, rank, lane) -> tuple[Route, ...]:
    """Slots for the pieces across rank gaps, and the order of ports on each target."""
    rank_gaps: dict[int, _Slots] = {}
    incoming: dict[str, list[tuple[float, str]]] = {}
    for source, target in edges:
        incoming.setdefault(target, []).append((_cross(channels.get((source, target)), lane[source]), source))
    port_of = {}
    for target, sources in incoming.items():
        for k, (_, source) in enumerate(sorted(sources)):
            port_of[(source, target)] = (k, len(sources))
    routes = []
    for source, target in edges:
        channel = channels.get((source, target))
        port, ports = port_of[(source, target)]
        start, via = lane[source] + 0.5, _cross(channel, lane[source])
        end = lane[target] + 0.5 + (port - (ports - 1) / 2) * 0.01  # ports apart: their pieces must not merge
        first = last = None
        if channel is None:
            if ports > 1 or lane[source] != lane[target]:
                last = _slot(rank_gaps, rank[source], start, end)
        else:
            if via != start:
                first = _slot(rank_gaps, rank[source], start, via)
            if via != end:
                last = _slot(rank_gaps, rank[target] - 1, via, end)
        routes.append(Route(source, target, channel, first, last, port, ports))
    return tuple(routes)


def _slot(rank_gaps: dict[int, _Slots], gap: int, a: float, b: float) -> int:
    return rank_gaps.setdefault(gap, _Slots()).place(min(a, b), max(a, b))
