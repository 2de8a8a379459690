"""onnxruntime on the exported .onnx against PyTorch eager, on the CPU.

For each spec: export it (random weights, seed 0) with `specc export`'s library
call, then time one inference call of the eval-mode module (``torch.inference_mode``)
and of an onnxruntime session (CPUExecutionProvider, default graph
optimisations) on the same input, at batch 1 and 64. The two are interleaved
(alternating which goes first) so that load from other processes falls on both;
each figure is the median of ``--repeat`` calls after ``--warmup`` calls.
Both use the same number of threads (``--threads``). Run:

    python bench/bench_export.py [--threads 1] [--repeat 25] [SPEC ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import specc
from specc.exporting import ExportOptions, export
from specc.runtime.build import build

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = ("lenet5", "digits", "mlp", "signs", "mobilenet-block", "allconv")


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def race(module: torch.nn.Module, sess: ort.InferenceSession, x: np.ndarray, warmup: int,
         repeat: int) -> tuple[float, float]:
    """Median seconds per call: (PyTorch eager, onnxruntime), interleaved."""
    tensor = torch.from_numpy(x)

    def eager() -> None:
        with torch.inference_mode():
            module(tensor)

    def runtime() -> None:
        sess.run(None, {"input": x})

    for _ in range(warmup):
        eager()
        runtime()
    torch_times, ort_times = [], []
    for round_ in range(repeat):
        order = (eager, runtime) if round_ % 2 == 0 else (runtime, eager)
        for call in order:
            (torch_times if call is eager else ort_times).append(timed(call))
    return statistics.median(torch_times), statistics.median(ort_times)


def bench(spec: Path, folder: Path, args: argparse.Namespace) -> list[str]:
    result = export(spec, folder / f"{spec.stem}.onnx", ExportOptions(seed=0))
    torch.manual_seed(0)
    module = build(spec).eval()  # the same weights as the export (seed 0)
    sess = session(result.path, args.threads)
    rows = []
    for batch in args.batches:
        x = np.random.default_rng(batch).random((batch, *result.input_shape[1:]), dtype=np.float32)
        eager, runtime = race(module, sess, x, args.warmup, args.repeat)
        rows.append(f"{spec.stem:<16} batch {batch:>3}: PyTorch {eager * 1e3:9.3f} ms   onnxruntime "
                    f"{runtime * 1e3:9.3f} ms   PyTorch/onnxruntime {eager / runtime:5.2f}x")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=DEFAULT_SPECS, help="spec names in specs/ or paths")
    parser.add_argument("--threads", type=int, default=1, help="threads for both (default 1: least noise)")
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"specc {specc.__version__}, torch {torch.__version__}, onnxruntime {ort.__version__}, "
          f"{args.threads} thread(s), median of {args.repeat} interleaved calls after {args.warmup} warm-up")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.specs:
            spec = Path(name) if name.endswith(".cnn") else ROOT / "specs" / f"{name}.cnn"
            for row in bench(spec, Path(folder), args):
                print(row, flush=True)


if __name__ == "__main__":
    main()
