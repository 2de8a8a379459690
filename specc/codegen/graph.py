"""What code generation asks of the whole graph: which layers the output depends on, and how many
parameters each block instance holds. No torch.

A layer that nothing reads (lint W104), and any layer that only such layers read, is built
(its parameters are the report's) but never called: the generated ``forward`` computes only
what the network's outputs depend on.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import ir
from ..analysis import LayerReport, idle_layers


def idle_parameters(reports: tuple[LayerReport, ...], outputs: Sequence[str] = ()) -> int:
    """How many parameters no forward pass uses (a distributed run must be told that some exist);
    ``outputs`` are the network's (the last layer when empty)."""
    idle = set(idle_layers(reports, outputs))
    # `share=`: an idle layer whose parameters a computed layer uses holds no unused ones
    used = {r.layer.shares.owner for r in reports if r.layer.shares is not None and r.layer.name not in idle}
    return sum(r.params or 0 for r in reports if r.layer.name in idle and r.layer.name not in used)


def params_under(reports: tuple[LayerReport, ...], instances: dict[str, ir.Instance]) -> dict[str, int]:
    """Each instance's parameters, its nested instances' included: one pass over the layers, one over the
    instances, deepest first (so a child's total is complete before it is added to its parent's)."""
    total: dict[str, int] = {}
    for r in reports:
        if r.layer.block is not None and r.params:
            total[r.layer.block] = total.get(r.layer.block, 0) + r.params
    depth: dict[str | None, int] = {None: 0}
    for path in instances:
        _depth(path, instances, depth)
    for path in sorted(instances, key=depth.__getitem__, reverse=True):
        parent = instances[path].parent
        if parent is not None and path in total:
            total[parent] = total.get(parent, 0) + total[path]
    return total


def _depth(path: str, instances: dict[str, ir.Instance], depth: dict[str | None, int]) -> int:
    chain = []
    at: str | None = path
    while at is not None and at not in depth:  # None, the top level, is in depth: the walk ends there
        chain.append(at)
        at = instances[at].parent
    known = depth[at]
    for step in reversed(chain):
        known += 1
        depth[step] = known
    return known
