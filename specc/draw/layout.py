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

from bisect import bisect_left, bisect_right
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


def input_nodes(graph: DrawGraph) -> tuple[DrawNode, ...]:
    """The network's input, or each of its several inputs, labelled with its name."""
    if not graph.inputs:
        return (input_node(graph),)
    return tuple(DrawNode(name, name, "input", shape, None, None, None, 0, None, ()) for name, shape in graph.inputs)


def output_nodes(graph: DrawGraph) -> tuple[DrawNode, ...]:
    """A box per output an `output` line names, below the layer it comes from; none without one."""
    several = len(graph.outputs) > 1
    return tuple(DrawNode(f"output:{index}", f"output {index}" if several else "output", "output", shape, None, None,
                          None, 0, None, (source,)) for index, (source, shape) in enumerate(graph.outputs, 1))


def grid(graph: DrawGraph) -> Grid:
    nodes = (*input_nodes(graph), *graph.nodes, *output_nodes(graph))
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
        node = _first_intruder(nodes, rank, lane, spans)
        if node is None:
            break
        span = _covering(spans, node, rank[node.id], lane[node.id])
        assert span is not None  # an intruder's cell is covered by a frame it is not in
        taken = {(rank[n.id], lane[n.id]) for n in nodes}
        target = span[3] + 1
        while (rank[node.id], target) in taken or _covering(spans, node, rank[node.id], target):
            target += 1
        lane[node.id] = target
    return lane


def _first_intruder(nodes: tuple[DrawNode, ...], rank: dict[str, int], lane: dict[str, int],
                    spans: dict[str, list[int]]) -> DrawNode | None:
    """The first node (in source order) inside the frame of a block it is not in, or None.

    A node's own frames all cover its cell, so it intrudes exactly where more frames cover the cell
    than it has. One sweep down the ranks counts them with a Fenwick tree over the lanes, adding each
    frame at its first rank and taking it away after its last: O((nodes + frames) log lanes), where
    asking every frame about every node would be quadratic in the block instances.
    """
    starts: dict[int, list[list[int]]] = {}
    for span in spans.values():
        starts.setdefault(span[0], []).append(span)
    ends: dict[int, list[list[int]]] = {}
    covers = _Fenwick(2 + max(lane.values()))
    first = len(nodes)
    order = sorted(range(len(nodes)), key=lambda k: rank[nodes[k].id])
    current = None
    for k in order:
        node = nodes[k]
        r = rank[node.id]
        if r != current:
            for row in range(r if current is None else current + 1, r + 1):
                for span in ends.pop(row, ()):
                    covers.add(span[2], span[3], -1)
                for span in starts.pop(row, ()):
                    covers.add(span[2], span[3], 1)
                    ends.setdefault(span[1] + 1, []).append(span)
            current = r
        if k < first and covers.at(lane[node.id]) > len(block_paths(node.block)):
            first = k
    return nodes[first] if first < len(nodes) else None


class _Fenwick:
    """Counts over lanes 0..size-1: add 1 to a range of lanes, read one lane, each in O(log size)."""

    def __init__(self, size: int) -> None:
        self.tree = [0] * (size + 1)

    def _add(self, index: int, delta: int) -> None:
        index += 1
        while index < len(self.tree):
            self.tree[index] += delta
            index += index & -index

    def add(self, lo: int, hi: int, delta: int) -> None:
        self._add(lo, delta)
        self._add(hi + 1, -delta)

    def at(self, index: int) -> int:
        total, index = 0, index + 1
        while index > 0:
            total += self.tree[index]
            index -= index & -index
        return total


def _covering(spans: dict[str, list[int]], node: DrawNode, r: int, c: int) -> list[int] | None:
    """The span of a frame ``node`` is not in that covers cell (r, c), if any."""
    own = set(block_paths(node.block))
    return next((s for p, s in spans.items() if p not in own and s[0] <= r <= s[1] and s[2] <= c <= s[3]), None)


class _Intervals:
    """Disjoint closed intervals, sorted: whether a new one would touch any is one bisection."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []

    def take(self, lo: float, hi: float) -> bool:
        """Add [lo, hi] if it meets none of the intervals held; whether it was added."""
        before = bisect_right(self.starts, hi)  # the intervals starting at or before hi
        if before and self.ends[before - 1] >= lo:  # ends grow with starts: the last of them reaches furthest
            return False
        self.starts.insert(before, lo)
        self.ends.insert(before, hi)
        return True


class _Slots:
    """First-fit interval colouring: the intervals of each slot, in the order slots were opened."""

    def __init__(self) -> None:
        self.taken: list[_Intervals] = []

    def place(self, lo: float, hi: float) -> int:
        for k, intervals in enumerate(self.taken):
            if intervals.take(lo, hi):
                return k
        self.taken.append(_Intervals())
        self.taken[-1].take(lo, hi)
        return len(self.taken) - 1


def _route(nodes: tuple[DrawNode, ...], rank: dict[str, int], lane: dict[str, int]) -> Grid:
    n_lanes = 1 + max(lane.values())
    cells: dict[int, list[int]] = {}  # lane -> the ranks of its boxes, ascending
    for n in sorted(nodes, key=lambda n: rank[n.id]):
        cells.setdefault(lane[n.id], []).append(rank[n.id])
    lane_use: dict[int, _Intervals] = {}
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
        ranks_here = cells.get(candidate, [])
        empty = bisect_right(ranks_here, lo) == bisect_left(ranks_here, hi)  # no box strictly between
        if empty and lane_use.setdefault(candidate, _Intervals()).take(lo, hi):
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
