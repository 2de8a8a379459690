"""What a user can do wrong, and what specc must do then: a clear `specc: error:` (or a
diagnostic) with status 1 for the user's spec/data/checkpoint and 2 for usage/I/O, no
traceback, and no file of the user's replaced or half-written.

Each test here is a defect found by trying to break specc; all are fast (no training).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from specc.cli import main
from specc.errors import SpeccError
from specc.runtime.checkpoint import load_checkpoint
from specc.training.data import SpecIO, prepare

IO = SpecIO((4, 4, 1), input_line=2, outputs=3, output_line=4, binary=False)
TINY = "model tiny\ninput 4x4x1\nconv 2 3x3 padding=same relu\nfc 3 softmax\n"


def _x(n: int = 20) -> np.ndarray:
    return np.random.default_rng(0).random((n, 4, 4, 1), dtype=np.float32)


def _y(n: int = 20) -> np.ndarray:
    return np.arange(n) % 3


def _refused(source: Path, match: str) -> SpeccError:
    with pytest.raises(SpeccError, match=match) as info:
        prepare(str(source), IO, val=0.2, seed=0)
    assert info.value.status == 1
    return info.value


# --- data (`specc train --data`) ---------------------------------------------------------------

@pytest.mark.parametrize("arrays, match", [
    ({"x": np.float32(1), "y": np.int64(1)}, r"y has shape \(\); labels are one class index per sample"),
    ({"x": _x().reshape(-1), "y": _y()}, r"the data has shape \(320,\), not one sample per row"),
    ({"x": _x(), "y": np.stack([_y(), _y()], 1)}, r"y has shape \(20, 2\)"),
    ({"x": _x(), "y": _y().astype(np.uint64) + 2**63}, r"has a label of 9223372036854775810"),
    ({"x": np.where(np.arange(20)[:, None, None, None] == 7, np.nan, _x()), "y": _y()},
     r"NaN or infinite values \(1 samples, the first is sample 7\)"),
    ({"x": _x(), "y": _y(), "x_val": _x()[:0], "y_val": _y()[:0]}, r"the validation set is empty"),
])
def test_malformed_npz_is_refused_with_its_reason(tmp_path, arrays, match):
    np.savez(tmp_path / "d.npz", **arrays)
    _refused(tmp_path / "d.npz", match)


def test_a_file_that_is_not_a_zip_is_not_offered_to_pickle(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"not a zip archive")
    err = _refused(tmp_path / "d.npz", r"not a zip file")
    assert "pickle" not in err.message


def test_hdf5_groups_and_half_a_test_set_are_refused(tmp_path):
    with h5py.File(tmp_path / "group.h5", "w") as f:
        f.create_group("train_set_x")
        f["train_set_y"] = _y()
    _refused(tmp_path / "group.h5", r"`train_set_x` is an HDF5 group, not an array")
    with h5py.File(tmp_path / "half.h5", "w") as f:
        f["train_set_x"], f["train_set_y"], f["test_set_x"] = (_x() * 255).astype(np.uint8), _y(), _x()[:3]
    _refused(tmp_path / "half.h5", r"only one of `test_set_x` and `test_set_y`")


def test_an_empty_val_folder_is_refused(tmp_path):
    from PIL import Image

    for name in "abc":
        (tmp_path / "ds" / "train" / name).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "ds" / "train" / name / "0.png")
    (tmp_path / "ds" / "val").mkdir()
    _refused(tmp_path / "ds", r"'.*val' has no class sub-folders")


def test_nan_data_is_refused_before_a_run_dir_is_made(tmp_path, capsys):
    (tmp_path / "t.cnn").write_text(TINY)
    x = _x()
    x[3, 0, 0, 0] = np.inf
    np.savez(tmp_path / "d.npz", x=x, y=_y())
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "t.cnn"), "--data", str(tmp_path / "d.npz"), "--out", str(out), "-q"]) == 1
    assert "the first is sample 3" in capsys.readouterr().err and not out.exists()


def test_a_synthetic_set_too_large_for_memory_is_an_error(tmp_path, capsys):
    (tmp_path / "t.cnn").write_text(TINY)
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "t.cnn"), "--data", f"synthetic:{10**15}", "--out", str(out), "-q"]) == 1
    assert "specc: error: out of memory" in capsys.readouterr().err and not out.exists()


# --- flags --------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag, value", [("--lr", "inf"), ("--l2", "inf"), ("--decay", "1e400")])
def test_infinite_flags_are_usage_errors(tmp_path, capsys, flag, value):
    (tmp_path / "t.cnn").write_text(TINY)
    assert main(["train", str(tmp_path / "t.cnn"), "--data", "synthetic:8", "-q", flag, value]) == 2
    assert f"specc: error: {flag} should be a finite number" in capsys.readouterr().err


# --- checkpoints --------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"epoch,train_loss\n1,0.5\n", b"hello", b"(."])
def test_any_bytes_as_a_checkpoint_are_refused_not_traced_back(tmp_path, content):
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(SpeccError, match="is not a readable checkpoint"):
        load_checkpoint(tmp_path / "x.pt")


def test_resume_from_a_metrics_file_is_an_error(tmp_path, capsys):
    (tmp_path / "t.cnn").write_text(TINY)
    (tmp_path / "metrics.csv").write_text("epoch,train_loss\n1,0.5\n")
    assert main(["train", str(tmp_path / "t.cnn"), "--resume", str(tmp_path / "metrics.csv"), "-q"]) == 2
    assert "--resume takes a run directory or its last.pt" in capsys.readouterr().err
    (tmp_path / "last.pt").write_text("epoch,train_loss\n1,0.5\n")
    assert main(["train", str(tmp_path / "t.cnn"), "--resume", str(tmp_path / "last.pt"), "-q"]) == 1
    assert "is not a readable checkpoint" in capsys.readouterr().err


# --- outputs that would replace the user's files ------------------------------------------------

def test_export_refuses_an_output_that_is_not_onnx(tmp_path, capsys):
    spec, other = tmp_path / "t.cnn", tmp_path / "other.cnn"
    spec.write_text(TINY)
    other.write_text(TINY)
    assert main(["export", str(spec), "-o", str(other)]) == 2  # `-o` for the spec meant to be compiled, say
    assert "does not end in .onnx; give a name such as" in capsys.readouterr().err
    assert other.read_text() == TINY and sorted(p.name for p in tmp_path.iterdir()) == ["other.cnn", "t.cnn"]


def test_compile_refuses_to_write_over_its_spec(tmp_path, capsys):
    spec = tmp_path / "t.cnn"
    spec.write_text(TINY)
    (tmp_path / "link.cnn").symlink_to(spec)
    for output in (spec, tmp_path / "link.cnn"):
        assert main(["compile", str(spec), "-o", str(output)]) == 2
        assert "is the spec itself" in capsys.readouterr().err
    assert spec.read_text() == TINY
    assert main(["compile", str(spec), "-o", str(tmp_path)]) == 2
    assert "it is a folder" in capsys.readouterr().err


# --- check ---------------------------------------------------------------------------------------

def test_check_says_what_a_fifo_is(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.cnn")
    assert main(["check", str(tmp_path / "pipe.cnn")]) == 2
    assert "not a regular file or folder" in capsys.readouterr().err


def test_a_long_line_with_many_diagnostics_is_echoed_as_a_window(tmp_path, capsys):
    # Repeated activations: each is a diagnostic; echoing the whole 100 KB line for each made 2 GB of
    # output and minutes of work. (A line is now at most 10,000 characters, E011: 1,900 of them.)
    (tmp_path / "long.cnn").write_text("input 4x4x1\nconv 2 3x3 " + "relu " * 1_900 + "\nfc 3 softmax\n")
    start = time.perf_counter()
    assert main(["check", "-q", str(tmp_path / "long.cnn")]) == 1
    out = capsys.readouterr().out
    assert time.perf_counter() - start < 10 and out.count("error[E111]") == 101  # 100, then one for the rest
    assert "error[E111]: 1,799 more E111 errors from here on, not shown: activation given twice" in out
    assert max(len(line) for line in out.splitlines()) < 220
    last = out.splitlines()[-5:-2]  # the last diagnostic: its caret still under its `relu`
    assert last[1].startswith(" 2 | …relu") and last[1][last[2].index("^"):].startswith("relu")


def test_a_full_disk_on_stdout_is_an_error_not_a_traceback(monkeypatch, capsys):
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr("sys.stdout", Full())
    assert main(["schema", "report"]) == 2
    assert "specc: error: cannot write the output: No space left on device" in capsys.readouterr().err


# --- Ctrl-C ---------------------------------------------------------------------------------------

def test_ctrl_c_says_which_checkpoint_holds_the_last_good_epoch(tmp_path, monkeypatch, capsys):
    import specc.training.run as run_module

    real, calls = run_module.train_epoch, []

    def interrupted_in_epoch_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "train_epoch", interrupted_in_epoch_2)
    (tmp_path / "t.cnn").write_text(TINY)
    out = tmp_path / "run"
    argv = ["train", str(tmp_path / "t.cnn"), "--data", "synthetic:32", "--out", str(out), "-q", "--epochs", "3"]
    assert main(argv) == 130
    assert f"the last finished epoch (1) is in {out / 'last.pt'}" in capsys.readouterr().err
    assert load_checkpoint(out / "last.pt")[1].epoch == 1
    calls.clear()
    calls.append(1)  # the next call is "epoch 2": interrupted before any epoch finished
    assert main([*argv[:5], str(tmp_path / "run2"), *argv[6:]]) == 130
    assert "no epoch finished, so no checkpoint was written" in capsys.readouterr().err


def test_resume_refuses_a_damaged_training_state(tmp_path, capsys):
    import torch

    (tmp_path / "t.cnn").write_text(TINY)
    out = tmp_path / "run"
    argv = ["train", str(tmp_path / "t.cnn"), "--data", "synthetic:32", "--out", str(out), "-q", "--epochs", "1"]
    assert main(argv) == 0
    payload = torch.load(out / "last.pt", weights_only=True)
    payload["extra"]["rng"] = "not a generator state"  # outside the weights' sha256
    torch.save(payload, out / "last.pt")
    capsys.readouterr()
    assert main(["train", str(tmp_path / "t.cnn"), "--resume", str(out), "--epochs", "2", "-q"]) == 1
    assert "training state is damaged" in capsys.readouterr().err


def test_compile_refuses_to_write_python_into_another_spec(tmp_path, capsys):
    spec, other = tmp_path / "t.cnn", tmp_path / "other.cnn"
    spec.write_text(TINY)
    other.write_text(TINY)
    assert main(["compile", str(spec), "-o", str(other)]) == 2
    assert other.read_text() == TINY
    assert "other.py" in capsys.readouterr().err
