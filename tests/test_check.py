"""`specc check`: the report's figures, the JSON contract, exit statuses, and
the promise that check never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import specc
import specc.report
from specc.cli import main

SPECS = Path(__file__).parent.parent / "specs"


def check_json(capsys, *args: str) -> tuple[int, object]:
    status = main(["check", "--format", "json", *args])
    return status, json.loads(capsys.readouterr().out)


def test_lenet5_json_matches_the_contract_example(capsys) -> None:
    status, report = check_json(capsys, str(SPECS / "lenet5.cnn"))
    assert status == 0
    assert report["model"] == "lenet5" and report["ok"] is True and report["input"] == [32, 32, 3]
    conv1 = report["layers"][0]
    assert {k: conv1[k] for k in ("name", "kind", "line", "output", "activations", "params", "macs", "fan_in",
                                  "density", "dense_params", "sharing", "reuse", "receptive_field", "jump")} == {
        "name": "conv1", "kind": "conv", "line": 6, "output": [28, 28, 8], "activations": 6272, "params": 608,
        "macs": 470400, "fan_in": 75, "density": 0.0244, "dense_params": 19273856, "sharing": 31700.4,
        "reuse": 784, "receptive_field": 5, "jump": 1}
    assert report["totals"] == report["totals"] | {"params": 62958, "trainable_params": 62958, "buffers": 0,
                                                   "macs": 849320, "activations": 10054}
    assert [layer["name"] for layer in report["layers"]] == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"]
    assert report["diagnostics"] == []


def test_why_convolutions_parameter_sharing() -> None:
    (conv,) = specc.check(SPECS / "why-convolutions.cnn").layers
    assert conv.output == (28, 28, 6)
    assert conv.params == 456
    assert conv.dense_params == 14_455_392  # 3,072 x 4,704 weights + 4,704 biases


def test_why_convolutions_sparsity_of_connections() -> None:
    (conv,) = specc.check(SPECS / "sparse-connections.cnn").layers
    assert conv.output == (4, 4, 1)
    assert (conv.fan_in, conv.density, conv.reuse) == (9, 0.25, 16)  # 9 of 36 inputs, each weight at 16 positions


@pytest.mark.parametrize("spec, params, macs", [
    ("lenet5.cnn", 62_958, 849_320),
    ("alexnet.cnn", 62_378_344, 1_135_256_096),
    ("vgg16.cnn", 138_357_544, 15_470_264_320),
])
def test_published_networks(spec: str, params: int, macs: int) -> None:
    analysis = specc.check(SPECS / spec)
    assert analysis.ok
    assert (analysis.totals.params, analysis.totals.macs) == (params, macs)


def test_counts_are_exact_integers_at_any_size() -> None:
    analysis = specc.check("input 3000000\nfc 1000\n")
    assert analysis.totals.params == 3_000_001_000
    assert "3,000,001,000" in specc.report.render([analysis], "text", color=False)


def test_receptive_field_grows_by_the_jump() -> None:
    analysis = specc.check("input 32x32x3\nconv 8 3\nmaxpool 2\nconv 8 3\nconv 8 3 dilation=2\nfc 10\n")
    assert [r.receptive_field[0] for r in analysis.layers] == [3, 4, 8, 16, 32]
    assert [r.jump[0] for r in analysis.layers[:4]] == [1, 2, 2, 2]


def test_a_layer_read_again_later_keeps_its_output() -> None:
    # infer lets a layer's output go after its last reader: here c1's is `c1.c*4`, not relu
    analysis = specc.check("input 8x8x3\nc1: conv 5 3x3\nrelu\nconv 8 1x1\nconv c1.c*4 1x1\n")
    assert analysis.layers[3].output == (6, 6, 20)


def test_exit_statuses(tmp_path: Path, capsys) -> None:
    good, bad = tmp_path / "good.cnn", tmp_path / "bad.cnn"
    good.write_text("input 8x8\nconv 4 3 relu\nfc 2 softmax\n")
    bad.write_text("input 8x8\nconv 4 9\n")
    assert main(["check", str(good)]) == 0
    assert main(["check", str(bad)]) == 1
    assert main(["check", str(good), str(bad)]) == 1
    assert main(["check", str(tmp_path / "missing.cnn")]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["check", "--format", "yaml", str(good)])
    assert usage.value.code == 2


def test_strict_turns_warnings_into_failure(tmp_path: Path) -> None:
    spec = tmp_path / "warn.cnn"
    spec.write_text("input 8x8\nconv 4 3\nconv 4 3\nfc 2\n")  # consecutive linear layers
    analysis = specc.check(spec)
    assert analysis.ok and analysis.warnings, "this spec is expected to raise a lint warning"
    assert main(["check", str(spec)]) == 0
    assert main(["check", "--strict", str(spec)]) == 1


def test_folders_and_several_files_give_a_json_array(capsys) -> None:
    status, reports = check_json(capsys, str(SPECS))
    assert status == 0
    assert sorted(r["file"] for r in reports) == sorted(str(p) for p in SPECS.glob("*.cnn"))


def test_an_empty_folder_is_a_usage_problem(tmp_path: Path) -> None:
    assert main(["check", str(tmp_path)]) == 2


def test_check_never_imports_torch_numpy_or_onnx() -> None:
    code = ("import sys; from specc.cli import main; main(['check', '-q', sys.argv[1]]); "
            "print(sorted(m for m in ('torch', 'numpy', 'onnx', 'onnxruntime', 'sklearn', 'pydantic', 'scipy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(SPECS / "vgg16.cnn")], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m_and_stdin() -> None:
    out = subprocess.run([sys.executable, "-m", "specc", "check", "--format", "json", "-"],
                         input="input 6x6\nconv 1 3x3\n", capture_output=True, text=True)
    assert out.returncode == 0
    assert json.loads(out.stdout)["layers"][0]["fan_in"] == 9


def test_a_closed_pipe_keeps_the_exit_status(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cnn"
    bad.write_text("input 4x4\n" + "conv 4 9\n" * 2000)
    out = subprocess.run(f"set -o pipefail; '{sys.executable}' -m specc check {bad} | head -1", shell=True,
                         executable="/bin/bash", capture_output=True, text=True)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr


def test_the_text_report_sums_up_parameter_sharing() -> None:
    text = specc.report.render([specc.check(SPECS / "why-convolutions.cnn")], "text", color=False)
    assert "sharing      conv layers 456 params; dense layers between the same volumes 14,455,392 (31,700.4x more)" \
        in text


@pytest.mark.parametrize("fmt, quiet", [("text", []), ("text", ["-q"]), ("json", [])])
@pytest.mark.parametrize("several", [True, False])
def test_the_streamed_report_is_the_rendered_one(capsys, fmt, quiet, several) -> None:
    """`specc check` writes the text and JSON reports piece by piece as they are made (a
    100,000-layer report is never held whole); what it writes is `render`'s report, byte for byte."""
    from specc.report import render
    from specc.source import read

    broken = Path(__file__).parent / "broken"
    paths = sorted(map(str, [*SPECS.glob("*.cnn"), *broken.glob("*.cnn")])) if several else [str(SPECS / "vgg16.cnn")]
    main(["check", "--color", "never", "--format", fmt, *quiet, *paths])
    written = capsys.readouterr().out
    analyses = [read(p) for p in paths]
    rendered = render(analyses, fmt, quiet=bool(quiet), color=False)
    assert written == (rendered + "\n" if rendered else "")  # print(report), nothing for an empty one
    assert written.count("\n") >= (400 if several else 0 if quiet else 20)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_report_of_a_large_spec_is_never_held_whole(fmt) -> None:
    """The text table is made in two passes (widths, then rows as they are written), the JSON
    report a chunk of layers at a time: writing the report of 30,000 layers holds a small part
    of its text at any moment. Before, the text report held three times its text, the JSON
    report four times."""
    import tracemalloc

    from specc.report.jsonfmt import pieces
    from specc.report.text import lines

    analysis = specc.check("input 32x32x3\n" + "conv 8 3x3 padding=same bias=false\nbatchnorm\nrelu\n" * 10_000
                           + "globalavgpool\nfc 10 softmax\n")
    assert analysis.ok and not analysis.diagnostics
    size = 0
    tracemalloc.start()
    try:
        for piece in (lines([analysis], color=False) if fmt == "text" else pieces([analysis])):
            size += len(piece) + 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size > 2_000_000
    assert peak < 0.1 * size, f"writing {size:,} characters held {peak:,} bytes"
