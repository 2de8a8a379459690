"""`specc train`: learning, run files, resume, divergence, configuration and its errors.

Tiny specs and data so the whole file runs in seconds on a shared CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from specc.cli import main
from specc.runtime.checkpoint import load_checkpoint
from specc.training import Request, train
from specc.training.runlog import read_metrics

TINY = """model tiny
input 8x8x1
conv 6 3x3 relu
maxpool 2x2
dropout 0.1
fc 10 softmax
train batch=64 epochs=3 lr=0.01 seed=0
"""


def spec(tmp_path: Path, text: str = TINY, name: str = "tiny.cnn") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(tmp_path: Path, *args: str, text: str = TINY) -> int:
    return main(["train", str(spec(tmp_path, text)), "--quiet", *args])


def test_digits_loss_falls_and_accuracy_rises(tmp_path):
    out = tmp_path / "run"
    assert run(tmp_path, "--data", "digits", "--out", str(out), "--epochs", "4") == 0
    history = read_metrics(out)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < 0.6 * history[0]["train_loss"]
    assert history[-1]["val_acc"] > history[0]["val_acc"] and history[-1]["val_acc"] > 0.8
    assert {"config.json", "spec.cnn", "metrics.jsonl", "metrics.csv", "curves.png", "last.pt", "best.pt"} <= {
        p.name for p in out.iterdir()}
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "metrics.csv").read_text().splitlines()[0].startswith("epoch,train_loss,train_acc,val_loss")
    best = max(history, key=lambda r: r["val_acc"])
    assert load_checkpoint(out / "best.pt")[1].epoch == best["epoch"]
    assert load_checkpoint(out / "last.pt")[1].epoch == 4


def test_synthetic_data_is_learnable(tmp_path):
    result = train(Request(spec(tmp_path), "synthetic:512", tmp_path / "run", quiet=True))
    first, last = result.history[0], result.history[-1]
    assert last["train_loss"] < 0.8 * first["train_loss"] and last["val_acc"] > 0.5
    assert result.best_acc == max(r["val_acc"] for r in result.history)


def test_default_run_dir_is_numbered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert run(tmp_path, "--data", "synthetic:64", "--epochs", "1") == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["tiny", "tiny-2"]


def test_resume_continues_exactly_where_a_straight_run_would_be(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = ["--data", "synthetic:256", "--optimizer", "momentum"]
    assert run(tmp_path, *common, "--out", str(straight), "--epochs", "4") == 0
    assert run(tmp_path, *common, "--out", str(split), "--epochs", "2") == 0
    assert load_checkpoint(split / "last.pt")[1].epoch == 2
    assert run(tmp_path, "--resume", str(split), "--epochs", "4") == 0
    a, meta, _ = load_checkpoint(straight / "last.pt")
    b, meta_b, _ = load_checkpoint(split / "last.pt")
    assert meta_b.epoch == 4 and all(torch.equal(a[k], b[k]) for k in a)  # weights, dropout RNG, momentum
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in rs]  # noqa: E731
    assert strip(read_metrics(split)) == strip(read_metrics(straight))


def test_resume_refuses_another_spec_and_changed_hyperparameters(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(tmp_path, "--data", "synthetic:64", "--out", str(out), "--epochs", "1") == 0
    other = spec(tmp_path, TINY.replace("conv 6", "conv 7"), "other.cnn")
    assert main(["train", str(other), "--resume", str(out), "--quiet"]) == 1
    assert "trained a different spec" in capsys.readouterr().err
    assert run(tmp_path, "--resume", str(out), "--lr", "0.5") == 2
    assert "differs from the run's lr=0.01" in capsys.readouterr().err
    assert run(tmp_path, "--resume", str(out)) == 2
    assert "already finished its 1 epochs" in capsys.readouterr().err
    assert run(tmp_path, "--data", "synthetic:64", "--out", str(out)) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    import specc.training.run as run_module

    monkeypatch.setattr(run_module, "learning_rate", lambda cfg, epoch: cfg.lr if epoch == 1 else 1e30)
    out = tmp_path / "run"
    assert run(tmp_path, "--data", "synthetic:128", "--out", str(out), "--epochs", "3") == 1
    err = capsys.readouterr().err
    assert "diverged in epoch 2" in err and "last good checkpoint" in err and "epoch 1" in err
    state, meta, _ = load_checkpoint(out / "last.pt")
    assert meta.epoch == 1 and all(torch.isfinite(t).all() for t in state.values())
    assert [r["epoch"] for r in read_metrics(out)] == [1]


def test_divergence_in_the_first_epoch_writes_no_checkpoint(tmp_path, monkeypatch, capsys):
    import specc.training.run as run_module

    monkeypatch.setattr(run_module, "learning_rate", lambda cfg, epoch: 1e30)
    out = tmp_path / "run"
    assert run(tmp_path, "--data", "synthetic:128", "--out", str(out)) == 1
    assert "diverged in epoch 1" in capsys.readouterr().err
    assert not (out / "last.pt").exists()


def test_a_spec_with_errors_is_refused_with_its_diagnostics(tmp_path, capsys):
    assert run(tmp_path, "--data", "digits", text=TINY.replace("conv 6 3x3", "conv 6 9x9")) == 1
    err = capsys.readouterr().err
    assert "not training" in err and "error[E201]" in err and "^" in err


@pytest.mark.parametrize("flag, value, message", [
    ("--lr", "-1", "--lr should be greater than 0"),
    ("--batch", "0", "--batch should be greater than or equal to 1"),
    ("--val", "1.5", "--val should be less than 1"),
    ("--beta2", "1", "--beta2 should be less than 1"),
])
def test_out_of_range_flags_name_the_option(tmp_path, capsys, flag, value, message):
    assert run(tmp_path, "--data", "synthetic:64", flag, value) == 2  # a usage error, as docs/train.md says
    assert message in capsys.readouterr().err


def test_missing_data_and_devices_are_usage_errors(tmp_path, capsys):
    assert run(tmp_path) == 2
    assert "--data is required" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert run(tmp_path, "--data", "synthetic:64", "--device", "cuda") == 2
        assert "no CUDA device" in capsys.readouterr().err


def test_effective_config_is_printed_and_saved(tmp_path, capsys):
    out = tmp_path / "run"
    path = spec(tmp_path)
    assert main(["train", str(path), "--data", "synthetic:64", "--out", str(out), "--epochs", "1", "--l2", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert "lr        0.01       (spec line 7)" in printed and "l2        0.5        (--l2)" in printed
    assert "beta1     0.9        (default)" in printed and "best val accuracy" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["lr"] == 0.01 and config["origins"]["epochs"] == "--epochs"
    assert config["data"]["train_samples"] + config["data"]["val_samples"] == 64
    assert load_checkpoint(out / "last.pt")[1].config == config


def test_quiet_prints_nothing(tmp_path, capsys):
    assert run(tmp_path, "--data", "synthetic:64", "--out", str(tmp_path / "r"), "--epochs", "1") == 0
    assert capsys.readouterr() == ("", "")


def test_one_sigmoid_output_trains_on_binary_labels(tmp_path):
    text = "input 4\nfc 8 relu\nfc 1 sigmoid\ntrain epochs=8 lr=0.05 batch=32\n"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4)).astype(np.float32)
    np.savez(tmp_path / "b.npz", x=x, y=(x[:, 0] + x[:, 1] > 0).astype(np.int64))
    result = train(Request(spec(tmp_path, text), str(tmp_path / "b.npz"), tmp_path / "run", quiet=True))
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"] and result.best_acc > 0.8


def test_train_reads_the_spec_as_check_does_so_tool_specc_silences_its_warnings(tmp_path: Path, capsys) -> None:
    """One spec reader: a rule ignored in [tool.specc] is silent in `specc train` as in `specc check`."""
    linear = "input 4x4x1\nconv 2 3x3 padding=same\nconv 2 3x3 padding=same relu\nfc 3 softmax\n"  # W102
    path = spec(tmp_path, linear)
    assert main(["train", str(path), "--data", "synthetic:16", "--epochs", "1", "--out", str(tmp_path / "a")]) == 0
    assert "W102" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text('[tool.specc]\nignore = ["W102"]\n')
    assert main(["check", "-q", str(path)]) == 0 and "W102" not in capsys.readouterr().out
    assert main(["train", str(path), "--data", "synthetic:16", "--epochs", "1", "--out", str(tmp_path / "b")]) == 0
    assert "W102" not in capsys.readouterr().err
