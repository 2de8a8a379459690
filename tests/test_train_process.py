"""`specc train` as real processes: torchrun with two gloo ranks, and a run killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specc.cli import main
from specc.runtime.checkpoint import load_checkpoint
from specc.training.runlog import read_metrics

SPEC = """model tiny
input 8x8x1
conv 4 3x3 relu
maxpool 2x2
fc 10 softmax
train batch=64 epochs=3 lr=0.02 seed=0
"""


def _env() -> dict[str, str]:
    # One thread per process: the test machine's cores are shared.
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run a command in its own process group, so a timeout ends torchrun's workers too."""
    proc = subprocess.Popen(command, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def test_torchrun_two_ranks_on_cpu_writes_one_run(tmp_path):
    (tmp_path / "tiny.cnn").write_text(SPEC)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "specc", "train", "tiny.cnn", "--data", "synthetic:600", "--device", "cpu"]
    done = _run(command, tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = list((tmp_path / "runs").iterdir())
    assert [p.name for p in runs] == ["tiny"]  # rank 0 alone chose and wrote the run directory
    history = read_metrics(runs[0])
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"] and history[-1]["val_acc"] > 0.3
    config = json.loads((runs[0] / "config.json").read_text())
    assert config["runtime"]["world_size"] == 2
    assert done.stdout.count("best val accuracy") == 1 and "2 processes" in done.stdout
    assert load_checkpoint(runs[0] / "last.pt")[1].epoch == 3
    # each rank scored its share of the held-out samples; the confusion matrices summed over the ranks give
    # the macro scores of the whole held-out split, as scikit-learn computes them from last.pt's predictions
    import torch
    from sklearn.metrics import f1_score, precision_score

    from specc.runtime.checkpoint import load_checkpoint_model
    from specc.training.data import prepare
    from specc.training.setup import spec_io

    module, _, analysis = load_checkpoint_model(runs[0] / "last.pt")
    split = prepare("synthetic:600", spec_io(analysis), 0.1, 0)
    with torch.no_grad():
        predicted = module(split.x_val).argmax(1).numpy()
    truth = split.y_val.numpy()
    assert history[-1]["val_acc"] == pytest.approx(float((predicted == truth).mean()))
    for key, score in (("precision", precision_score), ("f1", f1_score)):
        expected = score(truth, predicted, average="macro", labels=range(10), zero_division=0)
        assert history[-1][f"val_{key}"] == pytest.approx(expected, abs=1e-6), key
    # the checkpoint holds the plain module: a single process resumes it
    assert main(["train", str(tmp_path / "tiny.cnn"), "--resume", str(runs[0]), "--epochs", "4", "--quiet"]) == 0
    assert [r["epoch"] for r in read_metrics(runs[0])] == [1, 2, 3, 4]


def test_sigkill_mid_run_loses_at_most_the_epoch_in_progress(tmp_path):
    (tmp_path / "tiny.cnn").write_text(SPEC)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "specc", "train", "tiny.cnn", "--data", "synthetic:3000", "--out", str(out),
               "--epochs", "1000", "--batch", "16"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (out / "metrics.jsonl").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)  # well into a later epoch, possibly mid-write
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    state, meta, _ = load_checkpoint(out / "last.pt")
    assert meta.epoch >= 1
    resumed = _run([sys.executable, "-m", "specc", "train", "tiny.cnn", "--resume", str(out),
                    "--epochs", str(meta.epoch + 1)], tmp_path, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {meta.epoch}" in resumed.stdout
    assert [r["epoch"] for r in read_metrics(out)] == list(range(1, meta.epoch + 2))
