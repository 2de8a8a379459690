"""Issue 9, the smaller holes: terminal controls echoed raw, infinite values accepted,
huge strides not linted, double Ctrl-C misreporting, an example spec that could not be
trained, and export importing torch before checking its source. Each failed before the fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from specc.cli import main
from specc.pipeline import analyse_text
from specc.runtime.checkpoint import load_checkpoint

TINY = "model tiny\ninput 4x4x1\nconv 2 3x3 padding=same relu\nfc 3 softmax\n"
ROOT = Path(__file__).resolve().parent.parent
ESC = "\x1b]0;owned\x07\x1b[2J"  # retitle the terminal window, then clear the screen


# --- control characters ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_control_characters_in_a_spec_and_its_name_are_escaped(tmp_path, capsys, fmt):
    spec = tmp_path / f"evil{ESC[:4]}.cnn"
    spec.write_text(f"input 8x8x1\n{ESC}conv 2 3x3\u202e relu\nfc 2\n")
    assert main(["check", "-f", fmt, str(spec)]) == 1
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\u202e"), repr(out)
    if fmt == "text":
        assert "\\x1b]0;owned\\x07\\x1b[2J" in out  # shown, as written
    if fmt == "json":
        assert json.loads(out)["file"] == str(spec)  # escaped as JSON: the data itself is unchanged


def test_an_error_message_does_not_echo_control_characters(tmp_path, capsys):
    assert main(["check", str(tmp_path / f"missing{ESC}.cnn")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "missing\\x1b]0;owned" in err


# --- infinite values -------------------------------------------------------------------------------------

def test_an_infinite_slope_is_refused():
    found = analyse_text("input 8x8x1\nconv 2 3x3\nleaky_relu slope=1e999\nfc 2\n", "x.cnn").diagnostics
    assert [(d.code, d.message) for d in found if d.code == "E106"] == [
        ("E106", "slope must be a finite number, got 1e999 (infinite as a float)")]


def test_export_refuses_an_infinite_tolerance(tmp_path, capsys):
    (tmp_path / "t.cnn").write_text(TINY)
    assert main(["export", str(tmp_path / "t.cnn"), "-o", str(tmp_path / "m.onnx"), "--atol", "inf"]) == 2
    assert "--atol must be a positive, finite number (got inf)" in capsys.readouterr().err


# --- huge strides are linted ------------------------------------------------------------------------------

def test_huge_strides_still_get_w201_and_w202():
    codes = lambda text: [d.code for d in analyse_text(text, "x.cnn").diagnostics]  # noqa: E731
    assert codes("input 8x8x1\nconv 2 3x3 stride=99999999 relu\nfc 2\n") == ["W202"]
    assert codes("input 700000x1x1\nconv 2 1x1 stride=600000 relu\nfc 2\n") == ["W201"]


# --- double Ctrl-C ------------------------------------------------------------------------------------------

def test_a_second_ctrl_c_does_not_misreport_what_was_saved(tmp_path, monkeypatch, capsys):
    import specc.training.finish as finish

    real, saves = finish.save_checkpoint, []

    def interrupted_second_save(*args, **kwargs):
        saves.append(1)
        if len(saves) == 2:
            raise KeyboardInterrupt  # the first Ctrl-C, while epoch 2 is being saved
        return real(*args, **kwargs)

    def interrupted_plot(*args, **kwargs):
        raise KeyboardInterrupt  # the second, while the curves are drawn on the way out

    monkeypatch.setattr(finish, "save_checkpoint", interrupted_second_save)
    monkeypatch.setattr(finish, "plot_curves", interrupted_plot)
    (tmp_path / "t.cnn").write_text(TINY)
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "t.cnn"), "--data", "synthetic:32", "--out", str(out), "--epochs", "3",
                 "-q"]) == 130
    assert f"the last finished epoch (1) is in {out / 'last.pt'}" in capsys.readouterr().err
    assert load_checkpoint(out / "last.pt")[1].epoch == 1


# --- an example spec, and export's start ------------------------------------------------------------------

def test_allconv_example_trains(tmp_path):
    out = tmp_path / "run"
    assert main(["train", str(ROOT / "specs" / "allconv.cnn"), "--data", "synthetic:10", "--epochs", "1",
                 "--batch", "10", "--out", str(out), "-q"]) == 0
    assert load_checkpoint(out / "last.pt")[1].num_outputs == 10


def test_export_checks_its_source_before_importing_torch(tmp_path):
    probe = ("import sys\nfrom specc.cli import main\nstatus = main(['export', 'missing.cnn', '-o', 'm.onnx'])\n"
             "print(status, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert "cannot read 'missing.cnn': no such file or folder" in done.stderr


def test_repeated_diagnostics_are_capped_in_every_format(tmp_path, capsys):
    (tmp_path / "r.cnn").write_text("input 4x4x1\nconv 2 3x3 " + "relu " * 300 + "\nfc 3 softmax\n")
    assert main(["check", "-f", "json", str(tmp_path / "r.cnn")]) == 1
    found = json.loads(capsys.readouterr().out)["diagnostics"]
    assert len(found) == 101 and found[-1]["message"].startswith("199 more E111 errors from here on, not shown")


# --- computed values outside layers (found by bench/same_reports.py's mutations) -----------------------

@pytest.mark.parametrize("line, word", [("model a*b", "a*b"), ("input 8x8x3*2", "8x8x3*2"),
                                        ("train lr=2*3", "2*3"), ("train epochs=4/2", "4/2")])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_computed_value_in_model_input_or_train_is_e105_not_a_traceback(tmp_path, capsys, line, word, fmt):
    spec = tmp_path / "t.cnn"
    lines = {"model": "model tiny", "input": "input 4x4x1", "train": "conv 2 3x3"}
    lines[line.split()[0]] = line
    spec.write_text("\n".join(lines.values()) + "\nfc 3 softmax\n")
    assert main(["check", "--format", fmt, str(spec)]) == 1
    out = capsys.readouterr().out
    found = [d for d in json.loads(out)["diagnostics"]] if fmt == "json" else None
    if found is not None:
        line_number = list(lines).index(line.split()[0]) + 1
        assert [(d["code"], d["line"]) for d in found if d["severity"] == "error"] == [("E105", line_number)]
        assert f"`{word}`" in found[0]["message"]
    else:
        assert "E105" in out and f"got `{word}`" in out
