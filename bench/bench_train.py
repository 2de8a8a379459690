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
3. Folders (`--folders 2000,20000`): `specc train --data FOLDER` on generated folders of 32x32x3
   PNGs (10 classes) against a hand-written `DataLoader(num_workers=W)` that decodes each PNG
   with Pillow on the fly; the same network, batch, epochs, held-out tenth, torch threads and
   W (`--workers`, SPECC_WORKERS for specc's decoding). Every run is a fresh process: wall time
   from start to exit, training images/s (the time in training steps, data waits included, as
   `specc train` counts it; the first epoch left out) and peak memory (the largest RSS of the
   process or any of its workers, from wait4). specc runs three ways: streamed from a cold cache
   (it decodes first), from the warm cache, and held in memory (what it does by default for a
   folder under SPECC_IN_MEMORY MiB of float32 pixels). Target: the streamed runs at least as
   fast as the DataLoader, their memory not growing from 2k to 20k images.
"""

from __future__ import annotations

import argparse
import json
import os
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


# A light network (67 k MACs an image), so that reading the images, not the arithmetic, sets the pace.
FOLDER_SPEC = """model folders
input 32x32x3
conv 8 3x3 stride=2 relu
fc 10 softmax
train batch=64 epochs={epochs} optimizer=adam lr=0.002 seed=0 val=0.1
"""


def make_folder(root: Path, count: int) -> Path:
    """``count`` 32x32x3 PNGs in 10 class folders, each class around its own colour."""
    rng = np.random.default_rng(0)
    from PIL import Image

    means = rng.integers(40, 216, (10, 1, 1, 3))
    for k in range(10):
        (root / f"class{k}").mkdir(parents=True)
    for i in range(count):
        k = i % 10
        pixels = np.clip(means[k] + rng.normal(0, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"class{k}" / f"{i:06d}.png")
    return root


def by_hand_folder_network() -> nn.Module:
    """FOLDER_SPEC written out by hand."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(15 * 15 * 8, 10))


class PngFolder(torch.utils.data.Dataset):
    """What one writes by hand: each item decoded with Pillow when asked, divided by 255, channels first."""

    def __init__(self, files: list[Path], labels: list[int]):
        self.files, self.labels = files, labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        with Image.open(self.files[i]) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / np.float32(255)
        return torch.from_numpy(pixels).permute(2, 0, 1), self.labels[i]


def by_hand_folder_run(folder: Path, epochs: int, workers: int, device: str) -> list[tuple[int, float]]:
    """The hand-written loop over a folder: a tenth held out, a DataLoader for each part; (images, seconds)
    of each epoch's training steps."""
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    files = [(f, k) for k, name in enumerate(names) for f in sorted((folder / name).glob("*.png"))]
    order = np.random.default_rng(SEED).permutation(len(files))
    n_val = round(0.1 * len(files))
    part = lambda idx: PngFolder([files[i][0] for i in idx], [files[i][1] for i in idx])  # noqa: E731
    cuda = device == "cuda"
    loader = lambda ds, shuffle: torch.utils.data.DataLoader(  # noqa: E731
        ds, batch_size=64, shuffle=shuffle, num_workers=workers, pin_memory=cuda, persistent_workers=workers > 0)
    train_loader, val_loader = loader(part(order[n_val:]), True), loader(part(order[:n_val]), False)
    torch.manual_seed(SEED)
    model = by_hand_folder_network().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.002)
    done = []
    for _ in range(epochs):
        model.train()
        total, count = torch.zeros((), device=device), 0
        start = time.perf_counter()
        for x, y in train_loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(y)
            count += len(y)
        total.item()
        done.append((count, time.perf_counter() - start))
        model.eval()
        with torch.no_grad():
            sum(int((model(x.to(device)).argmax(1) == y.to(device)).sum()) for x, y in val_loader)
    return done


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``command``: (wall seconds, peak RSS in MiB of it or any of its workers, its stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed with status {proc.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out


def folders(counts: list[int], epochs: int, workers: int, threads: int, device: str, rounds: int,
            workdir: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SPECC_WORKERS=str(workers))
    spec = workdir / "folders.cnn"
    spec.write_text(FOLDER_SPEC.format(epochs=epochs))
    hand = f"hand-written DataLoader(num_workers={workers}), Pillow"
    print(f"folders: 32x32x3 PNGs, 10 classes, batch 64, {epochs} epochs (images/s leaves the first out), "
          f"{threads} torch thread(s), {workers} workers, device {device}; median of {rounds} interleaved rounds "
          f"(peak: the largest)")
    print(f"  {'images':>7}  {'how':<46} {'wall s':>7} {'train img/s':>12} {'peak RSS MiB':>13}")
    for count in counts:
        folder = make_folder(workdir / f"png{count}", count)
        runs: dict[str, list[tuple[float, float, float]]] = {}
        for r in range(rounds):
            cache = str(workdir / f"cache{count}-{r}")  # a new cache each round: the cold run decodes
            ways = [("specc, streamed, cold cache (decodes first)", "0"), ("specc, streamed, warm cache", "0"),
                    ("specc, in memory", "100000"), (hand, "")]
            for how, in_memory in ways if r % 2 == 0 else ways[2:][::-1] + ways[:2]:
                if how == hand:
                    wall, peak, said = measured([sys.executable, str(Path(__file__).resolve()), "--hand-folder",
                                                 str(folder), "--folder-epochs", str(epochs), "--workers",
                                                 str(workers), "--threads", str(threads), "--device", device], env)
                    speed = rate(json.loads(said))
                else:
                    out = workdir / f"run{count}-{r}-{len(runs.get(how, []))}-{in_memory}-{how[-5:-1]}"
                    wall, peak, _ = measured([sys.executable, "-m", "specc", "train", str(spec), "--data",
                                              str(folder), "--out", str(out), "--quiet", "--threads", str(threads),
                                              "--device", device],
                                             dict(env, SPECC_IN_MEMORY=in_memory, SPECC_CACHE=cache))
                    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
                    speed = rate([(round(h["images_per_s"] * h["seconds"]), h["seconds"]) for h in history])
                runs.setdefault(how, []).append((wall, speed, peak))
        for how, found in runs.items():
            wall, speed = statistics.median(f[0] for f in found), statistics.median(f[1] for f in found)
            print(f"  {count:>7,}  {how:<46} {wall:>7.1f} {speed:>12,.0f} {max(f[2] for f in found):>13,.0f}")
            print(f"  {'':>7}    runs: {', '.join(f'{f[1]:,.0f}' for f in found)} img/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds of the speed comparison")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per speed run (the first is not counted)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the speed comparison")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--folders", default="", help="image counts of the folder comparison, e.g. 2000,20000")
    parser.add_argument("--folder-epochs", type=int, default=3, help="epochs per folder run")
    parser.add_argument("--folder-rounds", type=int, default=3, help="interleaved rounds of the folder comparison")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers, and specc's decoding processes")
    parser.add_argument("--device", default="cpu", help="cpu or cuda, for the folder comparison")
    parser.add_argument("--hand-folder", type=Path, help=argparse.SUPPRESS)  # the hand-written loop's process
    args = parser.parse_args()
    if args.hand_folder:
        torch.set_num_threads(args.threads)
        print(json.dumps(by_hand_folder_run(args.hand_folder, args.folder_epochs, args.workers, args.device)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} default threads")
        for threads in () if args.skip_accuracy else (None, 1):
            acc = accuracy_run(workdir, threads)
            flags = " ".join(ACCURACY_FLAGS) + (f" --threads {threads}" if threads else "")
            print(f"accuracy: specc train specs/digits.cnn --data digits {flags}: "
                  f"final held-out accuracy {acc['final']:.2%} (best {acc['best']:.2%} at epoch "
                  f"{acc['best_epoch']}), {acc['epochs']} epochs, {acc['wall']:.1f} s wall (process start to exit)")
        if args.folders:
            folders([int(n) for n in args.folders.split(",")], args.folder_epochs, args.workers, args.threads,
                    args.device, args.folder_rounds, workdir)
        if args.skip_speed:
            return
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
