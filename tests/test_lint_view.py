"""The lint view (specc.lint.view.GraphView): the per-layer facts it works out once for the rules."""

from __future__ import annotations

from collections.abc import Iterable

import specc
from specc import kinds
from specc.analysis import LayerReport
from specc.lint.view import GraphView

SPEC = """input 16x16x8
conv 8 3x3 padding=same relu
dwconv 3x3 padding=same
batchnorm
conv 8 1x1 relu
maxpool 2x2 stride=3
dropout 0.5
globalavgpool
fc 10 softmax
"""


def graph_of(text: str) -> GraphView:
    analysis = specc.check(text)
    assert not analysis.errors
    return GraphView(analysis.model, analysis.layers)


def test_of_kind_keeps_the_source_order_across_subclasses() -> None:
    graph = graph_of(SPEC)
    assert [r.layer.line for r in graph.of_kind(kinds.Conv)] == [2, 3, 5]  # conv, dwconv, conv
    assert [r.layer.line for r in graph.of_kind(kinds.BatchNorm)] == [4]
    assert list(graph.of_kind(kinds.Concat)) == []


def test_weighted_and_windows_list_their_layers_in_order() -> None:
    graph = graph_of(SPEC)
    assert [r.layer.line for r in graph.weighted()] == [2, 3, 5, 9]
    assert [(r.layer.line, shape) for r, shape in graph.windows()] == [
        (2, (16, 16, 8)), (3, (16, 16, 8)), (5, (16, 16, 8)), (6, (16, 16, 8))]


def test_unread_windows_holds_only_layers_that_miss_input() -> None:
    # maxpool 2x2 stride=3 on 16x16: windows at rows 0-1, 3-4, ..., 12-13; rows 2, 5, 8, 11, 14, 15 unread
    (found,) = graph_of(SPEC).unread_windows
    r, _, (missed, beyond) = found
    assert r.layer.line == 6 and missed == (6, 6) and beyond == (2, 2)


RESIDUAL = """input 8x8x4
a: conv 4 3x3 padding=same
b: batchnorm
c: relu
d: add a c
e: add d d
fc 10 softmax
"""


def test_successors_and_chains_follow_the_edges() -> None:
    graph = graph_of(RESIDUAL)
    a, b, c, d, e, fc = graph.reports

    def names(reports: Iterable[LayerReport]) -> list[str]:
        return [r.layer.name for r in reports]

    assert names(graph.successors(a)) == ["b", "d"]  # a branch: read by the chain and by the add
    assert names(graph.successors(d)) == ["e", "e"]  # read twice by one add
    assert names(graph.successors(b)) == ["c"] and names(graph.successors(fc)) == []
    assert names(graph.chain_after(a)) == []  # branches at once
    assert names(graph.chain_after(b)) == ["c"]  # then c merges into d
    assert names(graph.chain_after(d)) == []
    assert graph.is_read(e) and not graph.is_read(fc)
    assert graph.feeds_weights(d) and graph.feeds_weights(e) and not graph.feeds_weights(fc)
