"""Benchmark: `specc check` cold start and scaling, side by side with its peers (issue 16).

Run: python bench/bench_check.py [--repeat 15] [--venv DIR [--base TREE]] [--no-peers] [--no-scaling]

1. Cold start, whole processes, bytecode cached as on a user's machine
   (PYTHONDONTWRITEBYTECODE is removed), contenders interleaved, medians:
   - `specc check specs/lenet5.cnn` against a bare `python -c pass` (target: at
     most 6x), and beside it the specs with blocks: ResNet-50 and MobileNetV2
     (blocks, calls, `repeat=`, expressions), and a 3-line stack against the
     same stack calling a one-line block (issue 23: a spec with blocks starts
     as fast as a stack, Lark not imported). With --venv DIR, they run in a
     virtual environment holding only specc's own check dependencies (made
     there if missing: lark, and this tree installed without dependencies), as
     after `pip install specc-cnn`; the
     interpreter of this machine also starts whatever its site-packages' .pth
     files import, which flatters the ratio. With --base TREE as well, the
     same checks by another source tree (a checkout of main, say, installed in
     DIR-base) run in the same interleaved race.
   - torchinfo.summary of the same LeNet-5 and of ResNet-50 (tests/twins.py,
     torchvision's architecture written by hand) from a cold process, against
     `specc check` of specs/lenet5.cnn and specs/resnet50.cnn;
   - ptflops' MAC count of that ResNet-50, cold, against `specc check`, with
     both MAC totals printed side by side.
2. Scaling, whole `specc check -q` processes, each child's own peak resident
   size (the maximum over the runs): plain stacks of 1,000, 10,000 and 100,000
   layers, a residual block called with repeat= to as many layers, and varied
   stacks of as many lines (widths, kernels, labels, lint warnings); then the
   100,000-layer stack with its whole report, the table and the JSON, written to
   /dev/null (targets: 100,000 layers in at most 5 s and 150 MB, and a flat cost
   per layer).

Not a test: these machines are shared and noisy. The ratios, measured side by
side, are the figures to compare.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
LENET = """
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
RESNET = f"""
import sys
sys.path.insert(0, {str(ROOT / 'tests')!r})
from twins import resnet50
net = resnet50().eval()
"""
TORCHINFO_RESNET = RESNET + "from torchinfo import summary\nsummary(net, input_size=(1, 3, 224, 224))\n"
PTFLOPS_RESNET = RESNET + """from ptflops import get_model_complexity_info
macs, params = get_model_complexity_info(net, (3, 224, 224), as_strings=False, print_per_layer_stat=False)
print(int(macs), int(params))
"""
REPEAT = """input 32x32x16
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
# The child reports its own peak resident size (KiB), so each run is measured alone: Linux's
# VmHWM, of this process image only (ru_maxrss would also count the benchmark's own size at
# the fork), else ru_maxrss.
CHILD = """import resource, sys
from specc.cli import main
try:
    main(['check', *sys.argv[1:]])
finally:
    try:
        with open('/proc/self/status') as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(peak, file=sys.stderr)
"""
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}


def seconds(argv: list[str], env: dict | None = None) -> tuple[float, float]:
    """The wall-clock and the CPU seconds (user and system) of one whole process."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, env=env or ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def race(contenders: dict[str, list[str]], repeat: int) -> dict[str, tuple[float, float]]:
    """Each contender's median wall-clock and CPU seconds, the contenders run in turn. The CPU
    time is the steadier figure on a shared machine: waiting for a core does not count."""
    for argv in contenders.values():  # warm the bytecode and the page cache
        seconds(argv)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, argv in contenders.items():
            times[name].append(seconds(argv))
    return {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for name, t in times.items()}


def clean_python(venv: Path, tree: Path = ROOT) -> str:
    """The interpreter of a virtual environment with only what `specc check` needs, made if missing."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "lark"], check=True)
    # the tree, not an editable install: an editable finder adds its own import cost
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(tree)],
                   check=True)
    return str(python)


def stack(layers: int) -> str:
    body = "\n".join("conv 8 3x3 padding=same relu" if i % 2 else "batchnorm" for i in range(layers - 1))
    return f"input 32x32x3\n{body}\nfc 10 softmax\n"


def varied(layers: int) -> str:
    """A stack as people write one: several widths, kernels and activations, some labels,
    batchnorm, relu and dropout lines, and a few hundred lint warnings. Deterministic."""
    import random

    pick, body = random.Random(16), []
    for i in range(layers - 2):
        kind = pick.choice(["conv", "conv", "batchnorm", "relu", "dropout"])
        if kind == "conv":
            label = f"c{i}: " if pick.random() < 0.2 else ""
            activation = pick.choice(["", " relu", " leaky_relu", " relu6"])
            body.append(f"{label}conv {pick.choice([8, 16, 24, 32])} {pick.choice(['1x1', '3x3', '5x5'])} "
                        f"padding=same{activation}")
        else:
            body.append(kind if kind != "dropout" else f"dropout 0.{pick.randint(1, 5)}")
    return "input 64x64x3\n" + "\n".join(body) + "\nglobalavgpool\nfc 10 softmax\n"


# The issue 23 pair: a 3-line stack, and the same stack whose middle line is a call of a
# one-line block (once 54 ms against 100 to 157 ms: a block's lines were Lark's to read).
SMALL_STACK = "input 8x8x3\nconv 4 3x3 relu\nfc 10\n"
SMALL_BLOCK = "input 8x8x3\nblock b(f) {\n    conv f 3x3 relu\n}\nb 4\nfc 10\n"
# LeNet-5 a plain stack; ResNet-50 and MobileNetV2 blocks, calls, `repeat=` and (MobileNetV2) expressions.
COLD_SPECS = ("lenet5", "resnet50", "mobilenetv2")


def cold_start(python: str, repeat: int, peers: bool, base: str | None = None) -> None:
    contenders = {"python -c pass": [python, "-c", "pass"]}
    with tempfile.TemporaryDirectory() as folder:
        specs = {spec: SPECS / f"{spec}.cnn" for spec in COLD_SPECS}
        for name, text in (("3-line stack", SMALL_STACK), ("3-line + block", SMALL_BLOCK)):
            specs[name] = Path(folder, f"{name.replace(' ', '').replace('+', '-')}.cnn")
            specs[name].write_text(text)
        for who, interpreter in (("specc check", python), ("base check", base)):
            if interpreter:  # the base tree's contenders interleaved with this tree's
                contenders |= {f"{who} {spec}": [interpreter, "-m", "specc", "check", str(path)]
                               for spec, path in specs.items()}
        if peers:
            contenders |= {"torchinfo lenet5": [sys.executable, "-c", LENET],
                           "torchinfo resnet50": [sys.executable, "-c", TORCHINFO_RESNET],
                           "ptflops resnet50": [sys.executable, "-c", PTFLOPS_RESNET]}
        raced = race(contenders, repeat)
    cold, cpu = ({name: t[i] for name, t in raced.items()} for i in (0, 1))
    print(f"cold start ({python}), median of {repeat}: wall clock, and CPU (user + system)")
    for name in contenders:
        print(f"  {name:<27} {cold[name] * 1000:8.1f} ms   cpu {cpu[name] * 1000:8.1f} ms")
    for name in contenders:
        if name.startswith(("specc check", "base check")):
            target = "   (target <= 6x)" if name == "specc check lenet5" else ""
            print(f"  {name} / python {' ' * (26 - len(name))}{cold[name] / cold['python -c pass']:6.1f}x"
                  f"   cpu {cpu[name] / cpu['python -c pass']:5.1f}x{target}")
    if peers:
        for peer, spec in (("torchinfo lenet5", "lenet5"), ("torchinfo resnet50", "resnet50"),
                           ("ptflops resnet50", "resnet50")):
            print(f"  {peer} / specc {' ' * (24 - len(peer))}{cold[peer] / cold['specc check ' + spec]:6.1f}x")
        macs, _ = subprocess.run([sys.executable, "-c", PTFLOPS_RESNET], env=ENV, capture_output=True, text=True,
                                 check=True).stdout.split()
        print(f"  ResNet-50 MACs: ptflops {int(macs):,} (with batchnorm, relu, pooling), "
              f"specc {resnet50_macs(python):,} (conv and fc)")


def resnet50_macs(python: str) -> int:
    import json

    out = subprocess.run([python, "-m", "specc", "check", "--format", "json", str(SPECS / "resnet50.cnn")],
                         env=ENV, capture_output=True, text=True, check=True).stdout
    return json.loads(out)["totals"]["macs"]


def peak_run(python: str, path: Path, options: tuple[str, ...] = ("-q",)) -> tuple[float, int]:
    """Seconds and peak resident KiB of one `specc check` process (its report to /dev/null)."""
    start = time.perf_counter()
    done = subprocess.run([python, "-c", CHILD, *options, str(path)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=ENV)
    return time.perf_counter() - start, int(done.stderr.split()[-1])


def scaling(python: str, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        specs = {}
        for layers in (1_000, 10_000, 100_000):
            specs[f"stack {layers:,}"] = Path(folder, f"stack{layers}.cnn")
            specs[f"stack {layers:,}"].write_text(stack(layers))
            specs[f"repeat {layers:,}"] = Path(folder, f"repeat{layers}.cnn")
            specs[f"repeat {layers:,}"].write_text(REPEAT.format(copies=(layers - 2) // 4))
            specs[f"varied {layers:,}"] = Path(folder, f"varied{layers}.cnn")
            specs[f"varied {layers:,}"].write_text(varied(layers))
        # The whole report of the largest stack, as users print it: the table, and the JSON.
        reports = {"stack 100,000, table": ("stack 100,000", ()),
                   "stack 100,000, json": ("stack 100,000", ("--format", "json"))}
        runs = {name: (path, ("-q",)) for name, path in specs.items()}
        runs |= {name: (specs[spec], options) for name, (spec, options) in reports.items()}
        times: dict[str, list[float]] = {name: [] for name in runs}
        peak: dict[str, int] = {}
        for _ in range(repeat):
            for name, (path, options) in runs.items():
                t, rss = peak_run(python, path, options)
                times[name].append(t)
                peak[name] = max(rss, peak.get(name, 0))
    print(f"scaling, whole `specc check -q` processes (and two with their whole report), median of {repeat}")
    for name in runs:
        layers = int(name.split()[1].rstrip(",").replace(",", ""))  # "stack 100,000, json": 100000
        t = statistics.median(times[name])
        print(f"  {name:<21} {t:7.2f} s  {t / layers * 1e6:6.1f} us/layer  "
              f"peak {peak[name] / 1024:5.0f} MiB ({peak[name] * 1024 / 1e6:4.0f} MB)")
    for kind in ("stack", "repeat", "varied"):
        small, mid, large = (statistics.median(times[f"{kind} {n:,}"]) for n in (1_000, 10_000, 100_000))
        print(f"  {kind}: 100k / 10k = {large / mid:.1f}x, 10k / 1k = {mid / small:.1f}x   "
              f"(target: 100k <= 5 s and 150 MB; flat per layer: 100k / 10k about 10x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--venv", type=Path, help="run specc in this clean virtual environment (made if missing)")
    parser.add_argument("--no-peers", dest="peers", action="store_false", help="skip torchinfo and ptflops")
    parser.add_argument("--base", type=Path, help="with --venv: also race this source tree's `specc check` "
                        "(installed in the venv's sibling DIR-base), e.g. a checkout of main")
    parser.add_argument("--no-scaling", dest="scaling", action="store_false", help="only the cold start")
    args = parser.parse_args()
    venv, tree = (path and path.resolve() for path in (args.venv, args.base))
    python = clean_python(venv) if venv else sys.executable
    base = clean_python(venv.with_name(venv.name + "-base"), tree) if venv and tree else None
    with tempfile.TemporaryDirectory() as empty:
        # `python -m specc` and `-c` look in the working folder first: from the source tree's
        # root, every environment's children would import the tree's specc, not their own
        os.chdir(empty)
        cold_start(python, args.repeat, args.peers, base)
        if args.scaling:
            scaling(python, max(3, args.repeat // 5))


if __name__ == "__main__":
    main()
