"""Benchmark: `specc check` of this tree against another commit's, side by side (issue 22's gate).

Run: python bench/bench_trees.py [--base REV] [--repeat 15] [--stack-repeat 3]

A re-layout must not cost start-up or scale: this runs whole `specc check`
processes of this tree and of REV (checked out in a temporary git worktree),
interleaved so that both see the same machine load, with bytecode cached as on
a user's machine (PYTHONDONTWRITEBYTECODE removed, one warm-up run each):
- the cold start of `specc check specs/lenet5.cnn` and of `specs/resnet50.cnn`
  (medians and minima, in ms);
- a 100,000-layer stack (bench_check.stack), `-q`, its wall time (median and
  minimum of --stack-repeat runs each) and the child's peak resident size.
The ratios (this tree / REV) are the figures to compare: the machines are noisy.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import stack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BASE = "cfded70"  # main before issue 22's re-layout


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    return env


def _run(tree: Path, args: list[str]) -> float:
    """Wall seconds of one `specc check` process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "specc", "check", *args], cwd=tree, env=_env(tree),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _peak(tree: Path, args: list[str]) -> int:
    """The peak resident size in KiB of one `specc check` process (measured in a fresh parent)."""
    code = ("import resource, subprocess, sys; subprocess.run([sys.executable, '-m', 'specc', 'check', *sys.argv[1:]],"
            " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=tree, env=_env(tree), capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--stack-repeat", type=int, default=3, help="runs of the 100,000-layer stack per tree")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), options.base],
                       check=True)
        try:
            big = Path(tmp) / "stack100k.cnn"
            big.write_text(stack(100_000))
            trees = {"this tree": ROOT, options.base: base}
            cases = {"lenet5 cold start": ["specs/lenet5.cnn"], "resnet50 cold start": ["specs/resnet50.cnn"]}
            times: dict[tuple[str, str], list[float]] = {}
            for args in cases.values():
                for tree in trees.values():
                    _run(tree, args)  # warm-up: writes the bytecode
            for _ in range(options.repeat):
                for case, args in cases.items():
                    for name, tree in trees.items():
                        times.setdefault((case, name), []).append(_run(tree, args))
            for case in cases:
                row = []
                for name in trees:
                    t = times[case, name]
                    row.append(f"{name}: median {1000 * statistics.median(t):6.1f} ms, min {1000 * min(t):6.1f} ms")
                ratio = statistics.median(times[case, "this tree"]) / statistics.median(times[case, options.base])
                least = min(times[case, "this tree"]) / min(times[case, options.base])
                print(f"{case:22s} {' | '.join(row)} | ratio {ratio:.2f} (minima {least:.2f})")
            large: dict[str, list[float]] = {}
            peaks: dict[str, int] = {}
            for _ in range(options.stack_repeat):
                for name, tree in trees.items():
                    large.setdefault(name, []).append(_run(tree, ["-q", str(big)]))
            for name, tree in trees.items():
                peaks[name] = _peak(tree, ["-q", str(big)])
            row = [f"{name}: median {statistics.median(large[name]):.2f} s, min {min(large[name]):.2f} s, "
                   f"peak {peaks[name] / 1024:.0f} MiB" for name in trees]
            ratio = statistics.median(large["this tree"]) / statistics.median(large[options.base])
            least = min(large["this tree"]) / min(large[options.base])
            print(f"{'stack 100,000 -q':22s} {' | '.join(row)} | ratio {ratio:.2f} (minima {least:.2f})")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    main()
