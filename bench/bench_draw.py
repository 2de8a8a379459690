"""Benchmark: `specc draw` on a ResNet-50-sized graph, expanded. Target: under 1 s.

Run: python bench/bench_draw.py [--repeat 7]

The graph is built by hand (tests/draw_graphs.py: resnet()): ResNet-50's
shape, a stem, 16 bottleneck blocks (3, 4, 6, 3) with identity and
projection shortcuts, nested frames layerN > layerN.i, 174 layers. Times the
layout and SVG rendering (expanded, TB and LR), the HTML page (which lays
the graph out 2 + 5 times: expanded, collapsed and each top-level block on its
own), and dot and Mermaid. Medians of ``--repeat`` runs; the process is
shared with nothing else but the machine may be: not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from draw_graphs import resnet  # noqa: E402

from specc.draw import draw  # noqa: E402


def timed(repeat: int, work) -> tuple[float, int]:
    runs, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = len(work())
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    graph = resnet()
    edges = sum(len(n.inputs) for n in graph.nodes)
    print(f"graph: {len(graph.nodes)} layers, {edges} edges, {len(graph.blocks)} frames; "
          f"Python {sys.version.split()[0]}; median of {args.repeat}")
    cases = [("svg TB expanded", lambda: draw(graph, "svg", "TB", False)),
             ("svg LR expanded", lambda: draw(graph, "svg", "LR", False)),
             ("svg TB collapsed", lambda: draw(graph, "svg", "TB", True)),
             ("html (7 drawings)", lambda: draw(graph, "html", "TB", None)),
             ("dot", lambda: draw(graph, "dot", "TB", False)),
             ("mermaid", lambda: draw(graph, "mermaid", "TB", False))]
    worst = 0.0
    for name, work in cases:
        seconds, size = timed(args.repeat, work)
        print(f"  {name:20} {seconds * 1000:8.1f} ms  {size / 1024:7.1f} KiB")
        if name.startswith("svg") and "expanded" in name:
            worst = max(worst, seconds)
    print(f"target: expanded SVG under 1 s: {'met' if worst < 1 else 'MISSED'} ({worst * 1000:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
