"""Benchmark: `specc check` cold start and scaling, side by side with its peers.

Run: python bench/bench_check.py [--repeat 15]

1. Cold start of `specc check specs/lenet5.cnn` against a bare `python -c pass`
   (target: at most 12x) and against torchinfo.summary of the same LeNet-5
   from a cold process (target: specc at least 10x faster). Bytecode caching is
   on, as on a user's machine (PYTHONDONTWRITEBYTECODE is removed).
2. Scaling: a 10,000-layer spec against a 1,000-layer one, whole process
   (target: at most 12x, and under a few seconds).

Runs are interleaved so that machine noise hits every contender alike; medians
are reported. Not a test: these machines are shared and noisy.
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

ROOT = Path(__file__).resolve().parent.parent
LENET = ROOT / "specs" / "lenet5.cnn"
TORCHINFO = """
import torch
from torch import nn
from torchinfo import summary
net = nn.Sequential(
    nn.Conv2d(3, 8, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
    nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
    nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
    nn.Linear(84, 10), nn.Softmax(dim=1))
summary(net, input_size=(1, 3, 32, 32))
"""


def seconds(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def race(contenders: dict[str, list[str]], repeat: int, env: dict) -> dict[str, float]:
    for argv in contenders.values():  # warm the bytecode and the page cache
        seconds(argv, env)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, argv in contenders.items():
            times[name].append(seconds(argv, env))
    return {name: statistics.median(t) for name, t in times.items()}


def spec_of(layers: int) -> str:
    body = "\n".join("conv 8 3x3 padding=same relu" if i % 2 else "batchnorm" for i in range(layers))
    return f"input 32x32x3\n{body}\nfc 10 softmax\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    py = sys.executable
    check = [py, "-m", "specc", "check", str(LENET)]
    cold = race({"python -c pass": [py, "-c", "pass"], "specc check": check,
                 "torchinfo.summary": [py, "-c", TORCHINFO]}, args.repeat, env)
    print("cold start, median of", args.repeat)
    for name, t in cold.items():
        print(f"  {name:<18} {t * 1000:8.1f} ms")
    print(f"  specc / python      {cold['specc check'] / cold['python -c pass']:6.1f}x   (target <= 12x)")
    print(f"  torchinfo / specc   {cold['torchinfo.summary'] / cold['specc check']:6.1f}x   (target >= 10x)")

    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp, "l1000.cnn"), Path(tmp, "l10000.cnn")
        small.write_text(spec_of(1000))
        large.write_text(spec_of(10000))
        scale = race({"1,000 layers": [py, "-m", "specc", "check", "-q", str(small)],
                      "10,000 layers": [py, "-m", "specc", "check", "-q", str(large)]}, max(3, args.repeat // 3), env)
    print("scaling, whole process")
    for name, t in scale.items():
        print(f"  {name:<18} {t * 1000:8.1f} ms")
    print(f"  10,000 / 1,000      {scale['10,000 layers'] / scale['1,000 layers']:6.1f}x   (target <= 12x, < 3 s)")


if __name__ == "__main__":
    main()
