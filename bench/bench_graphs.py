"""Benchmark: `specc check` on specs that expand through `repeat=` to many layers.

Run: python bench/bench_graphs.py [--repeat 3]

A residual block of four layers (conv, batchnorm, relu, add in) called with
`repeat=N`: 2,000 and 20,000 layers from a 10-line file. Targets (issue 11):
the 20,000-layer spec checks in under 10 s, and 10x the layers costs at most
12x the time. Whole processes, medians of interleaved runs, peak memory of the
process (ru_maxrss). Not a test: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """input 32x32x16
block res(f) {{
    conv f 3x3 p=same bias=false
    batchnorm
    relu
    add in
}}
res 16 repeat={copies}
globalavgpool
fc 10 softmax
"""


# The child reports its own peak resident size, so each run is measured alone.
CHILD = ("import resource, sys; from specc.cli import main; main(['check', '-q', sys.argv[1]]); "
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")


def run(path: Path) -> tuple[float, int]:
    """Seconds and peak resident KiB of one `specc check -q` process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    seconds = time.perf_counter() - start
    return seconds, int(done.stderr.split()[-1])


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
                seconds, rss = run(path)
                times[layers].append(seconds)
                peak[layers] = max(rss, peak.get(layers, 0))
    small, large = (statistics.median(times[n]) for n in (2_000, 20_000))
    for layers in specs:
        print(f"{layers:>6,} layers (repeat={layers // 4}): {statistics.median(times[layers]):.2f} s "
              f"(median of {args.repeat}), peak {peak[layers] / 1024:.0f} MiB")
    print(f"20,000 / 2,000 layers: {large / small:.1f}x the time (target: at most 12x; under 10 s)")


if __name__ == "__main__":
    main()
