"""Benchmark `specc train` (a script, not a test): `python bench/bench_train.py`.

1. Accuracy: `specc train specs/digits.cnn --data digits ...` as a fresh process, timed from
   start to exit (imports included); reports the final epoch's held-out accuracy (no epoch
   selection) and the best one. Target: >= 98% in under a minute on 2 CPU cores.
2. Speed: training images/s of `specc train` (library call, the same code the CLI runs) and
   of a hand-written PyTorch loop training the same network (written out by hand below) on
   the same data with the same batch size and optimizer, side by side in one process,
   interleaved rounds, median. Both count only the time spent in training steps (the
   definition `specc train` prints), without each run's first epoch (warm-up).
   Target: ratio within 5%.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "digits.cnn"
ACCURACY_FLAGS: list[str] = []  # the spec's own train line
BATCH, LR, VAL, SEED = 32, 0.002, 0.2, 0  # digits.cnn's train statement, and the split used by both loops


def accuracy_run(workdir: Path, threads: int | None) -> dict:
    out = workdir / f"accuracy-{threads}"
    command = [sys.executable, "-m", "specc", "train", str(SPEC), "--data", "digits", "--out", str(out),
               "--quiet", *ACCURACY_FLAGS, *(["--threads", str(threads)] if threads else [])]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    best = max(history, key=lambda r: r["val_acc"])
    return {"wall": wall, "final": history[-1]["val_acc"], "best": best["val_acc"], "best_epoch": best["epoch"],
            "epochs": len(history)}


def by_hand_network() -> nn.Module:
    """digits.cnn written out by hand: conv 16 3x3 same relu, conv 32 3x3 same relu, maxpool 2,
    dropout 0.25, fc 64 relu, fc 10 (logits)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(512, 64), nn.ReLU(), nn.Linear(64, 10))


def digits_split() -> tuple[torch.Tensor, ...]:
    """sklearn's digits / 16, a seeded permutation holds out 20%: what `specc train` does, written again."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy((bunch.images / 16.0).astype(np.float32)).unsqueeze(1)  # (N, 1, 8, 8)
    y = torch.from_numpy(bunch.target).long()
    order = torch.from_numpy(np.random.default_rng(SEED).permutation(len(x)))
    n_val = round(VAL * len(x))
    return x[order[n_val:]], y[order[n_val:]], x[order[:n_val]], y[order[:n_val]]


def by_hand_run(epochs: int, data: tuple[torch.Tensor, ...]) -> list[tuple[int, float]]:
    """A plain training loop; returns (images, seconds) of each epoch's training steps."""
    x, y, x_val, y_val = data
    torch.manual_seed(SEED)
    model = by_hand_network()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    epochs_done = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        total = torch.zeros(())
        start = time.perf_counter()
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        total.item()
        epochs_done.append((len(x), time.perf_counter() - start))
        model.eval()
        with torch.no_grad():
            (model(x_val).argmax(1) == y_val).float().mean().item()
    return epochs_done


def specc_run(epochs: int, out: Path) -> list[tuple[int, float]]:
    from specc.training import Request, train

    result = train(Request(SPEC, "digits", out, overrides={"epochs": epochs, "val": VAL}, device="cpu", quiet=True))
    return [(round(r["images_per_s"] * r["seconds"]), r["seconds"]) for r in result.history]


def rate(epochs: list[tuple[int, float]]) -> float:
    later = epochs[1:]  # the first epoch of a run pays for kernel set-up, in both loops
    return sum(n for n, _ in later) / sum(s for _, s in later)


def speed(rounds: int, epochs: int, workdir: Path) -> tuple[list[float], list[float]]:
    data = digits_split()
    ours, theirs = [], []
    for r in range(rounds):
        first_specc = r % 2 == 0  # alternate the order, so drift in machine load hits both alike
        for which in ("specc", "hand") if first_specc else ("hand", "specc"):
            if which == "specc":
                ours.append(rate(specc_run(epochs, workdir / f"speed-{r}")))
            else:
                theirs.append(rate(by_hand_run(epochs, data)))
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds of the speed comparison")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per speed run (the first is not counted)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the speed comparison")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} default threads")
        for threads in () if args.skip_accuracy else (None, 1):
            acc = accuracy_run(workdir, threads)
            flags = " ".join(ACCURACY_FLAGS) + (f" --threads {threads}" if threads else "")
            print(f"accuracy: specc train specs/digits.cnn --data digits {flags}: "
                  f"final held-out accuracy {acc['final']:.2%} (best {acc['best']:.2%} at epoch "
                  f"{acc['best_epoch']}), {acc['epochs']} epochs, {acc['wall']:.1f} s wall (process start to exit)")
        torch.set_num_threads(args.threads)
        ours, theirs = speed(args.rounds, args.epochs, workdir)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"speed ({args.threads} thread(s), batch {BATCH}, median of {args.rounds} interleaved runs of "
          f"{args.epochs - 1} timed epochs): specc train {a:,.0f} images/s, by hand {b:,.0f} images/s, "
          f"ratio specc/hand {a / b:.3f}")
    print(f"  specc runs: {', '.join(f'{v:,.0f}' for v in ours)}")
    print(f"  hand runs:  {', '.join(f'{v:,.0f}' for v in theirs)}")


if __name__ == "__main__":
    main()
