"""Benchmark: the parse step (specc.syntax.parse) on 10,000-line specs, against the
parser of an older commit of this repository.

Run: python bench/bench_parse.py [--against f3affc9] [--rounds 15]

Texts: a plain 10,002-line stack (the shape of bench_check.py's scaling spec),
the same stack with 1 or 100 lines broken (the recovery path), and, for this tree
only, a 10,001-line spec of 1,400 block definitions and 1,600 calls. The older
package is extracted with `git archive` and imported under another name, so
both parsers run in one process, alternately; the figure is CPU time
(time.process_time), so that other processes on a shared machine do not count,
and the median and minimum over rounds are reported. Not a test: a speed target, checked by
hand.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def texts() -> dict[str, str]:
    stack = "\n".join("conv 8 3x3 padding=same relu" if i % 2 else "batchnorm" for i in range(10000))
    found = {"stack": f"input 32x32x3\n{stack}\nfc 10 softmax\n"}
    lines = found["stack"].split("\n")
    found["stack, 1 broken line"] = "\n".join(f"{line},," if i == 5000 else line for i, line in enumerate(lines))
    found["stack, 100 broken lines"] = "\n".join(f"{line},," if i % 100 == 50 else line for i, line in enumerate(lines))
    block = "block b{n}(f, s=1) {{\n  conv f 3x3 s=s p=same bias=false\n  batchnorm\n  relu\n  add in\n}}\n"
    calls = "".join(f"x{n}: b{n % 1400} 8 s=in.c/8\n" for n in range(1600))
    found["blocks"] = "input 32x32x8\n" + "".join(block.format(n=n) for n in range(1400)) + calls
    return found


def older(commit: str, into: Path):
    """The older commit's specc.syntax, imported as specc_<commit>.syntax."""
    archive = subprocess.run(["git", "archive", commit, "specc", "grammar"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "specc").rename(into / f"specc_{commit}")
    sys.path.insert(0, str(into))
    return importlib.import_module(f"specc_{commit}.syntax")


def cpu_ms(parse, text: str) -> float:
    start = time.process_time()
    parse(text)
    return (time.process_time() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="f3affc9",
                        help="the older commit (default: f3affc9, before issue 16's fast path; ce6ae58: before graphs)")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from specc import syntax

    with tempfile.TemporaryDirectory() as folder:
        old = older(args.against, Path(folder))
        contenders = {args.against: old, "this tree": syntax}
        for module in contenders.values():  # build each parser (Lark's tables) before timing
            module.parse("input 8x8\nblock b(f) {\n  conv f 3\n}\n")
        print(f"parse, CPU ms, median (and minimum) of {args.rounds} alternating rounds")
        for name, text in texts().items():
            times: dict[str, list[float]] = {c: [] for c in contenders}
            for _ in range(args.rounds):
                for contender, module in contenders.items():
                    if name != "blocks" or module is syntax or args.against != "ce6ae58":  # it had no blocks
                        times[contender].append(cpu_ms(module.parse, text))
            shown = [f"{c}: {statistics.median(t):7.1f} (min {min(t):6.1f})" if t else f"{c}: {'-':>20}"
                     for c, t in times.items()]
            print(f"  {name:<26} " + "   ".join(shown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
