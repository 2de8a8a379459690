"""`specc train SPEC --data SOURCE [--out RUN_DIR]`: train the compiled module.

Options only; the work is specc.training.train. Under torchrun the same command
runs on every process (`torchrun --nproc_per_node=N -m specc train ...`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from ...errors import SpeccError
from ...hyperparameters import HYPERPARAMETERS, TYPES

# One flag per hyperparameter of the table (specc.hyperparameters): name, type, metavar, help.
HYPER_FLAGS = tuple((h.name, TYPES[h.kind], h.metavar, h.help) for h in HYPERPARAMETERS)


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a spec's module on data; writes a run directory",
                       description="Train the module `specc compile` emits. Hyperparameters come from the spec's "
                                   "`train` statement, overridden by the flags below. Writes checkpoints "
                                   "(last.pt, best.pt), config.json, metrics.jsonl/.csv and curves.png.")
    p.add_argument("spec", type=Path, metavar="SPEC", help="the .cnn spec")
    p.add_argument("--data", metavar="SOURCE",
                   help="digits, synthetic[:N], FILE.npz, FILE.h5 (course layout) or a folder of class folders")
    p.add_argument("--out", type=Path, metavar="RUN_DIR", help="run directory (default: runs/<model>[-N])")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run from its last.pt")
    hyper = p.add_argument_group("hyperparameters (override the spec's `train` statement)")
    for name, kind, metavar, text in HYPER_FLAGS:
        hyper.add_argument(f"--{name}", type=kind, metavar=metavar, help=text)
    running = p.add_argument_group("running")
    running.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                     help="auto: CUDA, then MPS, then CPU")
    running.add_argument("--no-amp", dest="amp", action="store_false", help="no mixed precision on CUDA")
    running.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                     help="keep NCHW memory layout on CUDA")
    running.add_argument("--resize", action="store_true", default=None,
                     help="image folders: scale images to the spec's HxW")
    running.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: torch's, one per core)")
    running.add_argument("--partial", action="store_true",
                         help="--init: train even when layers besides the last ones (a new head) are left as "
                              "initialised, or the file's layers are skipped between loaded ones")
    running.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with deferred_interrupt():  # Ctrl-C inside torch's import can abort the process or be swallowed
        from ...training import Request, train

    overrides = {name: getattr(args, name) for name, *_ in HYPER_FLAGS}
    request = Request(args.spec, args.data, args.out, args.resume, overrides, args.device, args.amp,
                      args.channels_last, args.resize, args.quiet, args.threads, args.partial)
    try:
        result = train(request)
    except SpeccError as exc:
        if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 alone reports
            return exc.status
        raise
    except KeyboardInterrupt as exc:  # before the epochs, or from them with where the last good one is
        raise KeyboardInterrupt(exc.args[0] if exc.args else "nothing was trained yet") from None
    if result.run_dir is not None:
        from ..next_steps import after_train, show

        show(after_train(result.run_dir), args.quiet)
    return 0


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold a Ctrl-C until the block ends, then raise it: imports of C extensions are not interruptible."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
