"""Training a spec with a layer nothing reads: its parameters never get a gradient. A single
process does not mind; DistributedDataParallel does, unless told to look for such parameters,
which `specc train` does for these specs (and only these). Two gloo ranks under torchrun, as
test_train_process.py runs them."""

from __future__ import annotations

import sys
from pathlib import Path

from test_train_process import _run

from specc.cli import main
from specc.training.runlog import read_metrics

SPEC = """model unread
input 8x8x1
b1:     conv 4 3x3 relu
        conv 4 3x3 relu from=input    # nothing reads this branch (W104)
        conv 4 1x1 relu from=b1
        maxpool 2x2
        fc 10 softmax
train batch=64 epochs=2 lr=0.02 seed=0
"""


def test_torchrun_trains_a_spec_whose_unread_branch_gets_no_gradient(tmp_path: Path) -> None:
    (tmp_path / "unread.cnn").write_text(SPEC)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "specc", "train", "unread.cnn", "--data", "synthetic:400", "--device", "cpu"]
    done = _run(command, tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()
    assert [r["epoch"] for r in read_metrics(run)] == [1, 2]


def test_one_process_trains_it_too(tmp_path: Path) -> None:
    spec = tmp_path / "unread.cnn"
    spec.write_text(SPEC)
    assert main(["train", str(spec), "--data", "synthetic:200", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert [r["epoch"] for r in read_metrics(tmp_path / "run")] == [1, 2]

