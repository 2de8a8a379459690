"""Benchmark: `specc check` on specs that expand through `repeat=` to many layers.

Run: python bench/bench_graphs.py [--repeat 3]

A residual block of four layers (conv, batchnorm, relu, add in) called with
`repeat=N`: 2,000 and 20,000 layers from a 10-line file. Targets (issue 11):
the 20,000-layer spec checks in under 10 s, and 10x the layers costs at most
12x the time. Whole processes, medians of interleaved runs, peak memory of the
process (its VmHWM, measured as bench_check.py does). Not a test: these machines
are shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench_check import REPEAT as SPEC  # the same residual block, and the same measurement
from bench_check import peak_run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        specs = {}
        for layers in (2_000, 20_000):
            specs[layers] = Path(folder, f"repeat{layers}.cnn")
            specs[layers].write_text(SPEC.format(copies=layers // 4))
        times: dict[int, list[float]] = {n: [] for n in specs}
        peak = {}
        for _ in range(args.repeat):
            for layers, path in specs.items():
                seconds, rss = peak_run(sys.executable, path)
                times[layers].append(seconds)
                peak[layers] = max(rss, peak.get(layers, 0))
    small, large = (statistics.median(times[n]) for n in (2_000, 20_000))
    for layers in specs:
        print(f"{layers:>6,} layers (repeat={layers // 4}): {statistics.median(times[layers]):.2f} s "
              f"(median of {args.repeat}), peak {peak[layers] / 1024:.0f} MiB")
    print(f"20,000 / 2,000 layers: {large / small:.1f}x the time (target: at most 12x; under 10 s)")


if __name__ == "__main__":
    main()
