"""`specc predict`, `val` and `export` on files made by someone else: checkpoints and ONNX files
whose metadata lies, class names and file names holding terminal controls, FIFOs, decompression
bombs and NaN. Each is refused with a message naming the file (or shown escaped), never a
traceback, a hang or a `nan%`.

One tiny run is trained per module from class folders whose names hold an OSC title sequence,
a colour code and a newline, and exported to ONNX once; the tests craft their files from those.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from specc.cli import main
from specc.runtime.checkpoint import spec_sha256

ROOT = Path(__file__).resolve().parent.parent
SPEC = """model blobs
input 8x8x1
conv 4 3x3 relu
fc 3 softmax
train batch=64 epochs=1 lr=0.02 seed=0
"""
HOSTILE = ["e\x1b]0;PWNED-TITLE\x07\x1b[31mred", "nl\nfake line", "plain"]  # sorted: the class order
RAW = ("\x1b", "\x07")  # what must never reach the terminal


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "blobs.cnn").write_text(SPEC)
    rng = np.random.default_rng(0)
    for k, name in enumerate(HOSTILE):
        (root / "data" / name).mkdir(parents=True)
        for i in range(20):
            pixels = rng.integers(0, 60, (8, 8)).astype(np.uint8)
            pixels[:, 4 * (k - 1):4 * k] += 150 if k else 0
            Image.fromarray(pixels).save(root / "data" / name / f"{i}.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "ok.png")
    assert main(["train", str(root / "blobs.cnn"), "--data", str(root / "data"), "--out", str(root / "run"),
                 "--quiet"]) == 0
    assert main(["export", str(root / "run"), "-o", str(root / "ref.onnx")]) == 0
    return root


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def checkpoint(made: Path, folder: Path, **meta) -> Path:
    """A copy of the run's best.pt with ``meta`` changed (the spec's sha256 made to match, as a writer would)."""
    payload = torch.load(made / "run" / "best.pt", weights_only=True)
    payload["meta"].update(meta)
    payload["meta"]["spec_sha256"] = spec_sha256(payload["meta"]["spec_source"])
    path = folder / "crafted.pt"
    torch.save(payload, path)
    return path


def onnx_file(made: Path, folder: Path, **props: str) -> Path:
    """A copy of the export with metadata ``props`` set."""
    model = onnx.load(str(made / "ref.onnx"))
    found = {p.key: p.value for p in model.metadata_props}
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {**found, **props})
    path = folder / "crafted.onnx"
    onnx.save(model, str(path))
    return path


# --- N16: names from files are shown, never obeyed ---------------------------------------------------------


def test_predict_shows_hostile_class_and_file_names_escaped(made: Path, tmp_path: Path, capsys) -> None:
    named = tmp_path / "e\x1b]0;T\x07v.png"
    named.write_bytes((made / "ok.png").read_bytes())
    for model in (made / "run", made / "ref.onnx"):
        status, out, _ = run_cli(capsys, "predict", str(model), str(made / "ok.png"), str(named))
        assert status == 0 and not any(c in out for c in RAW)
        lines = out.splitlines()
        assert len(lines) == 3, out  # the header and one line per input: a newline in a name forges none
        assert "e\\x1b]0;PWNED-TITLE\\x07\\x1b[31mred" in out and "nl\\nfake line" in out
        assert lines[2].startswith(f"{tmp_path}/e\\x1b]0;T\\x07v.png  ")


def test_predict_json_keeps_the_names_exact_but_escaped(made: Path, capsys) -> None:
    status, out, _ = run_cli(capsys, "predict", str(made / "run"), str(made / "ok.png"), "--format", "json")
    assert status == 0 and not any(c in out for c in RAW)
    assert {t["name"] for t in json.loads(out)["predictions"][0]["top"]} == set(HOSTILE)


def test_val_table_shows_hostile_class_names_escaped_one_row_each(made: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes((made / "run" / "best.pt").read_bytes())
    status, out, _ = run_cli(capsys, "val", str(run), "--data", str(made / "data"))
    assert status == 0 and not any(c in out for c in RAW)
    rows = out.splitlines()[out.splitlines().index(next(r for r in out.splitlines() if r.startswith("class"))) + 1:]
    assert [r.split("  ")[0].strip() for r in rows[:3]] == [
        "e\\x1b]0;PWNED-TITLE\\x07\\x1b[31mred", "nl\\nfake line", "plain"]
    assert rows[3] == ""  # then the figures: no fourth row was forged


def test_a_model_name_and_an_input_scaling_from_a_file_are_shown_escaped(made: Path, tmp_path: Path,
                                                                          capsys) -> None:
    crafted = checkpoint(made, tmp_path, model_name="m\x1b]0;T\x07x")
    status, out, err = run_cli(capsys, "predict", str(crafted), str(made / "ok.png"))
    assert status == 0 and "m\\x1b]0;T\\x07x" in out and not any(c in out + err for c in RAW)
    crafted = onnx_file(made, tmp_path, input_scaling="scaled\x1b]0;T\x07", model_name="m\x1b[31m")
    status, out, err = run_cli(capsys, "predict", str(crafted), str(made / "ok.png"))
    assert status == 0 and "scaled\\x1b]0;T\\x07" in err and "m\\x1b[31m" in out
    assert not any(c in out + err for c in RAW)


# --- N14: the spec inside a checkpoint or an ONNX file is checked like a spec file ----------------------


BAD_SPECS = {
    "unknown statement": "model blobs\ninput 8x8x1\nfrob 3\nconv 4 3x3 relu\nfc 3 softmax\n",
    "1,500 factors": "model blobs\ninput 8x8x1\nconv 4" + "*1" * 1500 + " 3x3 relu\nfc 3 softmax\n",
    # The audit's N1, N2 and N7 through a file: 10^18 layers, sizes past float, a million block copies.
    "10^18 layers": "model blobs\ninput 8x8x1\nblock a() {\n relu repeat=1000000\n}\n"
                    "block b() {\n a repeat=1000000\n}\nb repeat=1000000\nconv 4 3x3 relu\nfc 3 softmax\n",
    "upsample 2 repeat=1000": "model blobs\ninput 8x8x1\nupsample 2 repeat=1000\nconv 4 3x3 relu\nfc 3 softmax\n",
    "b repeat=1000000": "model blobs\ninput 8x8x1\nblock b() {\n relu\n}\nb repeat=1000000\nconv 4 3x3\nfc 3 softmax\n",
}
CODES = {"unknown statement": "E101", "1,500 factors": "E120", "10^18 layers": "E118",
         "upsample 2 repeat=1000": "E209", "b repeat=1000000": "E118"}


@pytest.mark.parametrize("bad", BAD_SPECS)
@pytest.mark.parametrize("command", ["predict", "export", "val"])
def test_a_checkpoint_whose_spec_does_not_check_is_refused_naming_it(made: Path, tmp_path: Path, capsys,
                                                                     bad: str, command: str) -> None:
    crafted = checkpoint(made, tmp_path, spec_source=BAD_SPECS[bad])
    argv = {"predict": [str(made / "ok.png")], "export": ["-o", str(tmp_path / "x.onnx")],
            "val": ["--data", str(made / "data")]}[command]
    status, _, err = run_cli(capsys, command, str(crafted), *argv)
    assert status == 1 and f"the spec inside '{crafted}'" in err, err
    assert "does not check" in err and CODES[bad] in err
    if bad == "unknown statement":
        assert "line 3:1: E101 unknown statement `frob`" in err
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("spec", ["", "\n\n", *BAD_SPECS.values(), "specs/lenet5.cnn"])
def test_an_onnx_file_whose_spec_does_not_check_is_refused_naming_it(made: Path, tmp_path: Path, capsys,
                                                                     spec: str, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # "specs/lenet5.cnn" names a real file: the metadata is text, never a path
    crafted = onnx_file(made, tmp_path, spec=spec)
    status, _, err = run_cli(capsys, "predict", str(crafted), str(made / "ok.png"))
    assert status == 1 and f"the spec inside '{crafted}'" in err, err


# --- N15: malformed ONNX metadata ------------------------------------------------------------------------


@pytest.mark.parametrize("names, problem", [
    ("[oops", "is not JSON"),
    ('{"a": 1}', "it is an object"),
    ("5", "it is a number"),
    ('[[1, 2], {"x": 1}, null]', "it is a list of 3 values"),
    ('["only one"]', "it is a list of 1 strings"),
])
def test_malformed_class_names_are_refused_naming_the_file_and_the_key(made: Path, tmp_path: Path, capsys,
                                                                       names: str, problem: str) -> None:
    crafted = onnx_file(made, tmp_path, class_names=names)
    status, out, err = run_cli(capsys, "predict", str(crafted), str(made / "ok.png"))
    assert status == 1 and out == "" and f"'{crafted}': its metadata `class_names`" in err and problem in err


def test_an_onnx_file_whose_graph_does_not_take_its_spec_s_input_is_refused(made: Path, tmp_path: Path,
                                                                            capsys) -> None:
    crafted = onnx_file(made, tmp_path, spec=SPEC.replace("8x8x1", "16x16x1"))
    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(big)
    status, _, err = run_cli(capsys, "predict", str(crafted), str(big))
    assert status == 1 and "the graph's inputs (input ['batch', 1, 8, 8]) do not fit its spec's input 16x16x1" in err


def test_an_unknown_output_kind_is_refused(made: Path, tmp_path: Path, capsys) -> None:
    crafted = onnx_file(made, tmp_path, output="scores")
    status, _, err = run_cli(capsys, "predict", str(crafted), str(made / "ok.png"))
    assert status == 1 and "its metadata `output` is 'scores'" in err


# --- N17, C4, C9: FIFOs ------------------------------------------------------------------------------------


def test_a_fifo_as_an_input_is_refused_not_read(made: Path, tmp_path: Path) -> None:
    """In a child process with a timeout: reading a FIFO nobody writes to would wait forever."""
    for name in ("ff.png", "ff.npz"):
        os.mkfifo(tmp_path / name)
    calls = [["predict", str(made / "run"), str(tmp_path / "ff.png")],
             ["predict", str(made / "run"), str(tmp_path / "ff.npz")],
             ["predict", str(made / "ref.onnx"), str(tmp_path / "ff.png")]]
    code = ("import sys, json; from specc.cli import main\n"
            f"print(json.dumps([main(argv) for argv in {calls!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert json.loads(done.stdout) == [2, 2, 2], done.stderr
    assert done.stderr.count("it is a FIFO (named pipe), not a file or folder") == 3


def test_a_fifo_as_the_model_says_what_it_is(tmp_path: Path, capsys) -> None:
    for name in ("model.pt", "model.onnx"):
        os.mkfifo(tmp_path / name)
        status, _, err = run_cli(capsys, "predict", str(tmp_path / name), str(tmp_path / "x.png"))
        assert status == 2 and "it is a FIFO (named pipe)" in err and "not found" not in err


def test_a_fifo_in_an_input_folder_is_skipped_with_a_warning(made: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "a.png").write_bytes((made / "ok.png").read_bytes())
    os.mkfifo(tmp_path / "b.png")
    status, out, err = run_cli(capsys, "predict", str(made / "ref.onnx"), str(tmp_path))
    assert status == 0 and len(out.splitlines()) == 2
    assert f"specc: warning: skipped '{tmp_path / 'b.png'}': it is a FIFO (named pipe), not an image file" in err


# --- N18, N19, C3: image and array contents -----------------------------------------------------------------


def test_a_decompression_bomb_is_refused_as_train_refuses_it(made: Path, tmp_path: Path, capsys,
                                                             monkeypatch) -> None:
    from PIL import Image as pil

    monkeypatch.setattr(pil, "MAX_IMAGE_PIXELS", 16)  # 8x8 = 64 pixels is then over twice the limit
    for argv in ([str(made / "run"), str(made / "ok.png")], [str(made / "run"), str(made / "ok.png"), "--resize"],
                 [str(made / "ref.onnx"), str(made)]):
        status, _, err = run_cli(capsys, "predict", *argv)
        assert status == 1 and "cannot read image" in err and "decompression bomb" in err


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused_naming_the_file_and_the_sample(made: Path, tmp_path: Path, capsys,
                                                                       bad: float) -> None:
    x = np.zeros((4, 8, 8, 1), np.float32)
    x[2, 3, 3, 0] = bad
    np.savez(tmp_path / "bad.npz", x=x)
    for model in (made / "run", made / "ref.onnx"):
        status, out, err = run_cli(capsys, "predict", str(model), str(tmp_path / "bad.npz"))
        assert status == 1 and out == "" and "nan%" not in err
        assert f"'{tmp_path / 'bad.npz'}' x holds NaN or infinite values (1 samples, the first is sample 2)" in err


def test_a_one_dimensional_x_says_its_shape(made: Path, tmp_path: Path, capsys) -> None:
    np.savez(tmp_path / "flat.npz", x=np.zeros(5, np.float32))
    status, _, err = run_cli(capsys, "predict", str(made / "run"), str(tmp_path / "flat.npz"))
    assert status == 1 and "x has shape (5,), neither samples of the spec's input 8x8x1" in err
    assert "samples of  but" not in err


# --- C11: the exporter's colour codes ------------------------------------------------------------------------


def test_the_exporter_s_colour_codes_are_dropped_and_its_root_cause_named(made: Path, tmp_path: Path, capsys,
                                                                          monkeypatch) -> None:
    def failing(*args, **kwargs):
        try:
            raise RecursionError("maximum recursion depth exceeded")
        except RecursionError as cause:
            raise torch.onnx.errors.OnnxExporterError(
                "Failed to export the model with torch.export. \x1b[96mThis is step 1/3\x1b[0m of exporting the "
                "model to ONNX. Next steps:\n- Modify the model code") from cause

    monkeypatch.setattr(torch.onnx, "export", failing)
    status, _, err = run_cli(capsys, "export", str(made / "run"), "-o", str(tmp_path / "x.onnx"))
    assert status == 1 and "\\x1b" not in err and "[96m" not in err
    assert ("could not convert 'blobs': Failed to export the model with torch.export "
            "(RecursionError: maximum recursion depth exceeded)") in err


def test_figures_show_names_as_plain_text(tmp_path: Path) -> None:
    """A `$` pair would be read as a formula (a bad one is a ValueError), a control as a missing glyph."""
    from specc.training.plots import plot_confusion, plot_misclassified

    names = ["a$\\frac$b", "e\x1b]0;T\x07"]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        plot_confusion(np.eye(2, dtype=np.int64), names, tmp_path / "c.png", "run $\\frac$")
        plot_misclassified(np.zeros((2, 1, 8, 8), np.float32), np.array([0, 1]), np.array([1, 0]),
                           np.array([0.9, 0.8]), names, tmp_path / "m.png", "run $\\frac$")
    assert not [w for w in seen if "Glyph" in str(w.message)]
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")


def test_predict_with_an_onnx_file_needs_no_torch(made: Path, tmp_path: Path) -> None:
    """specc.runtime.samples reads images and .npz files without specc.training (whose package imports torch)."""
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 8, 8, 1), np.uint8))
    code = ("import sys; sys.modules['torch'] = None\nfrom specc.cli import main\n"
            f"raise SystemExit(main(['predict', {str(made / 'ref.onnx')!r}, {str(made / 'ok.png')!r}, "
            f"{str(tmp_path / 'x.npz')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4
