"""Issue 9, first half: nothing of the user's is lost and no failed run is called a success.

Output paths (FIFOs, devices, symlinks, modes), run folders that are not runs, two
trainings in one folder (the lock), resuming backwards, a closed stdout, and a best.pt
left stale by an interrupted copy. Each test failed on the code before the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import specc
from specc.cli import main
from specc.errors import SpeccError
from specc.runtime.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint, spec_sha256
from specc.training.runlog import read_metrics

TINY = "model tiny\ninput 4x4x1\nconv 2 3x3 padding=same relu\nfc 3 softmax\n"
ROOT = Path(__file__).resolve().parent.parent
LOCK = ".specc.lock"  # specc.training.lock.LOCK, written out: the tests read the folder as a user would


def _spec(tmp_path: Path) -> Path:
    (tmp_path / "t.cnn").write_text(TINY)
    return tmp_path / "t.cnn"


def _train(tmp_path: Path, *args: str) -> int:
    return main(["train", str(_spec(tmp_path)), "--data", "synthetic:32", "-q", *args])


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


# --- compile -o: only regular files are replaced, symlinks written through, modes kept --------------

def test_compile_refuses_a_fifo_and_a_device(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.py")
    assert main(["compile", str(_spec(tmp_path)), "-o", str(tmp_path / "pipe.py")]) == 2
    assert "it is a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe.py").st_mode)
    assert main(["compile", str(_spec(tmp_path)), "-o", os.devnull]) == 2
    assert "it is a character device, not a regular file" in capsys.readouterr().err
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.py", "t.cnn"]  # no temporary file left


def test_compile_writes_through_a_symlink(tmp_path):
    (tmp_path / "real.py").write_text("old\n")
    (tmp_path / "link.py").symlink_to("real.py")
    assert main(["compile", str(_spec(tmp_path)), "-o", str(tmp_path / "link.py")]) == 0
    assert (tmp_path / "link.py").is_symlink() and os.readlink(tmp_path / "link.py") == "real.py"
    assert "class Tiny" in (tmp_path / "real.py").read_text()


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_compile_output_modes_follow_the_umask_or_the_old_file(tmp_path, umask):
    old = os.umask(umask)
    try:
        assert main(["compile", str(_spec(tmp_path)), "-o", str(tmp_path / "new.py")]) == 0
        (tmp_path / "kept.py").write_text("x\n")
        (tmp_path / "kept.py").chmod(0o640)
        assert main(["compile", str(_spec(tmp_path)), "-o", str(tmp_path / "kept.py")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.py").st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "kept.py").st_mode) == 0o640


def test_compile_dash_o_dash_is_stdout(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _spec(tmp_path)
    assert main(["compile", "t.cnn", "-o", "-"]) == 0
    assert "class Tiny" in capsys.readouterr().out and not (tmp_path / "-").exists()


# --- train --out: a folder that is not a run is never written into ------------------------------------

def test_train_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("spec.cnn", "config.json", "notes.txt"):
        (mine / name).write_text(f"my {name}\n")
    assert _train(tmp_path, "--out", str(mine)) == 2
    assert "is not empty and is not a specc run" in capsys.readouterr().err
    assert {p.name: p.read_text() for p in mine.iterdir()} == {n: f"my {n}\n" for n in
                                                               ("spec.cnn", "config.json", "notes.txt")}


def test_a_run_killed_in_its_first_epoch_is_restarted_and_its_temporary_files_go(tmp_path):
    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    (out / "last.pt").unlink()  # as if killed while writing the first checkpoint: config.json and spec.cnn exist
    (out / "best.pt").unlink()
    (out / ".last.pt.99999.0badc0de.tmp").write_bytes(b"PK half")
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    assert load_checkpoint(out / "last.pt")[1].epoch == 1
    assert not list(out.glob(".*.tmp")) and not (out / LOCK).exists()


# --- the run-folder lock --------------------------------------------------------------------------------

def _lock(folder: Path, pid: int) -> None:
    folder.mkdir(exist_ok=True)
    (folder / LOCK).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "command": "specc train x"}))


def test_a_live_lock_refuses_both_a_new_run_and_a_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    (out / ".last.pt.1.feed.tmp").write_bytes(b"the live run's write in progress")
    before = (out / "last.pt").read_bytes()
    _lock(out, os.getppid())  # a process that is certainly alive
    assert _train(tmp_path, "--resume", str(out), "--epochs", "2") == 2
    err = capsys.readouterr().err
    assert f"is in use by process {os.getppid()} on {socket.gethostname()} (`specc train x`)" in err
    assert (out / ".last.pt.1.feed.tmp").exists() and (out / "last.pt").read_bytes() == before
    fresh = tmp_path / "fresh"
    _lock(fresh, os.getppid())
    assert _train(tmp_path, "--out", str(fresh)) == 2
    assert sorted(p.name for p in fresh.iterdir()) == [LOCK]


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "run"
    _lock(out, gone.pid)
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    assert load_checkpoint(out / "last.pt")[1].epoch == 1 and not (out / LOCK).exists()


def test_a_fifo_or_a_link_named_like_the_lock_is_refused_not_read(tmp_path, capsys):
    """A run folder may come from anyone: a FIFO named .specc.lock hung `train --resume` in its
    read; a link to a file elsewhere was read as the lock. Both are locks that cannot be read."""
    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    os.mkfifo(out / LOCK)
    resume = [sys.executable, "-m", "specc", "train", str(_spec(tmp_path)), "--data", "synthetic:32",
              "--resume", str(out), "--epochs", "2", "-q"]
    done = subprocess.run(resume, capture_output=True, text=True, timeout=120, env=_env())
    assert done.returncode == 2 and "cannot be read" in done.stderr
    assert stat.S_ISFIFO(os.lstat(out / LOCK).st_mode)
    (out / LOCK).unlink()
    elsewhere = tmp_path / "holder.json"
    elsewhere.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "command": "x"}))
    (out / LOCK).symlink_to(elsewhere)
    assert _train(tmp_path, "--resume", str(out), "--epochs", "2") == 2
    assert "cannot be read" in capsys.readouterr().err


def test_a_second_real_training_is_refused_while_the_first_runs(tmp_path):
    spec = _spec(tmp_path)
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "specc", "train", str(spec), "--data", "synthetic:2000",
                              "--out", str(out), "--epochs", "1000", "--batch", "8", "-q"], env=_env(),
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "last.pt").exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "specc", "train", str(spec), "--resume", str(out),
                                 "--epochs", "2000", "-q"], env=_env(), capture_output=True, text=True, timeout=60)
        assert first.poll() is None, first.stderr.read()
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
    assert second.returncode == 2, second.stderr
    assert f"is in use by process {first.pid}" in second.stderr and "Traceback" not in second.stderr
    assert first.returncode == 130 and not (out / LOCK).exists()  # Ctrl-C released the lock
    assert load_checkpoint(out / "last.pt")[1].spec_sha256 == spec_sha256(TINY)


# --- resume never moves a run backwards -----------------------------------------------------------------

def test_resume_from_best_pt_or_an_older_last_pt_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    shutil.copy(out / "last.pt", tmp_path / "epoch1.pt")
    assert _train(tmp_path, "--resume", str(out), "--epochs", "3") == 0
    metrics, last = (out / "metrics.jsonl").read_text(), (out / "last.pt").read_bytes()
    assert _train(tmp_path, "--resume", str(out / "best.pt"), "--epochs", "10") == 2
    assert "best.pt is the best epoch, not the latest" in capsys.readouterr().err
    shutil.copy(tmp_path / "epoch1.pt", out / "last.pt")  # an older last.pt put back by hand
    assert _train(tmp_path, "--resume", str(out / "last.pt"), "--epochs", "10") == 2
    assert "holds epoch 1, but the run's metrics.jsonl already reaches epoch 3" in capsys.readouterr().err
    (out / "last.pt").write_bytes(last)
    assert (out / "metrics.jsonl").read_text() == metrics and [r["epoch"] for r in read_metrics(out)] == [1, 2, 3]


# --- a closed stdout or stderr ----------------------------------------------------------------------------

@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_a_closed_output_lets_training_finish_not_succeed_early(tmp_path, closed):
    # `specc train ... | head -0`: the reader is gone before the first line. A warning (no activation
    # before the fc layer: W103) makes train write to stderr first too.
    (tmp_path / "w.cnn").write_text("model w\ninput 4x4x1\nconv 2 3x3\nfc 3 softmax\n")
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "specc", "train", "w.cnn", "--data", "synthetic:32",
                             "--out", str(out), "--epochs", "3"], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    getattr(proc, closed).close()
    other = proc.stderr if closed == "stdout" else proc.stdout
    text = other.read().decode()
    assert proc.wait(timeout=120) == 0, text
    assert "Traceback" not in text and load_checkpoint(out / "last.pt")[1].epoch == 3


# --- best.pt left behind by an interrupted copy ----------------------------------------------------------

def _checkpoint(path: Path, epoch: int, best: int, config: dict) -> None:
    meta = CheckpointMeta(model_name="tiny", spec_source=TINY, spec_sha256=spec_sha256(TINY), epoch=epoch,
                          config=config)
    history = [{"epoch": e, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.0, "val_acc": e / 10, "lr": 1e-3,
                "seconds": 1.0, "images_per_s": 1.0} for e in range(1, epoch + 1)]
    extra = {"history": history, "best": {"val_acc": best / 10, "epoch": best}}
    save_checkpoint(path, specc.build(TINY), meta, None, extra)


def test_a_stale_best_pt_is_detected_by_export_and_repaired_by_resume(tmp_path, capsys):
    from specc.runtime.checkpoint import pick_from_run

    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    config = load_checkpoint(out / "last.pt")[1].config
    _checkpoint(out / "best.pt", epoch=1, best=1, config=config)
    _checkpoint(out / "last.pt", epoch=2, best=2, config=config)  # epoch 2 improved; killed before best.pt
    file, warning = pick_from_run(out)
    assert file == out / "last.pt" and "the copy to best.pt was interrupted" in warning
    assert main(["export", str(out), "-o", str(tmp_path / "m.onnx")]) == 0
    captured = capsys.readouterr()
    assert "specc: warning:" in captured.err and "(epoch 2)" in captured.out
    assert main(["train", str(tmp_path / "t.cnn"), "--resume", str(out), "--epochs", "3"]) == 0
    assert "best.pt did not hold the run's best epoch (2); restored it from last.pt" in capsys.readouterr().err
    assert pick_from_run(out)[1] is None


def test_a_flipped_byte_in_the_optimizer_state_is_found(tmp_path):
    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    data = bytearray((out / "last.pt").read_bytes())
    state = torch.load(out / "last.pt", weights_only=True)["optimizer"]["state"][0]["exp_avg"]
    needle = state.numpy().tobytes()[:16]  # Adam's first moment of the first weight tensor
    at = bytes(data).index(needle)
    data[at] ^= 0x01
    (out / "last.pt").write_bytes(bytes(data))
    with pytest.raises(SpeccError, match="fails its CRC-32 check"):
        load_checkpoint(out / "last.pt")
