"""`specc check` for folders and terminals: default excludes, --exclude, the closing
total, --statistics, --format concise, W001 for unknown codes in ignore comments,
readable totals, tables that fit a terminal, and --batch's memory estimate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import specc
from specc.cli import main
from specc.numbers import readable, scaled
from specc.report.text import one_line, table

SPECS = Path(__file__).parent.parent / "specs"
GOOD = "input 8x8x1\nconv 4 3 relu\nfc 2 softmax\n"
WARNS = "input 8x8x1\nconv 4 3\nconv 4 3\nfc 2 softmax\n"  # no activation between the convs


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in {"a.cnn": GOOD, "nets/b.cnn": WARNS, "nets/c.cnn": "input 8x8\nconv 4 9\n",
                       "runs/b/spec.cnn": "bad", ".git/x.cnn": "bad", ".hidden/y.cnn": "bad",
                       "env/z.cnn": "bad", "node_modules/p/q.cnn": "bad", "build/r.cnn": "bad",
                       "old/s.cnn": "bad"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    return tmp_path


def test_a_folder_check_skips_runs_hidden_folders_and_environments(project: Path, capsys) -> None:
    status = main(["check", "--format", "concise", str(project), "--exclude", "old"])
    out = capsys.readouterr().out
    assert status == 1
    found = {line.split(":")[0].removeprefix(str(project)) for line in out.splitlines()[:-1]}
    assert found == {"/nets/b.cnn", "/nets/c.cnn"}
    assert out.splitlines()[-1] == "checked 3 files: 1 with errors, 1 warning"
    assert all(line.count(": ") >= 1 for line in out.splitlines()[:-1])


def test_exclude_takes_globs_and_a_named_file_is_always_read(project: Path, capsys) -> None:
    main(["check", "-q", str(project), "--exclude", "old", "--exclude", "c.*"])
    assert capsys.readouterr().out.splitlines()[-1] == "checked 2 files: 0 with errors, 1 warning"
    main(["check", "-q", str(project / "runs" / "b" / "spec.cnn")])
    assert "error" in capsys.readouterr().out


def test_statistics_counts_each_code(project: Path, capsys) -> None:
    status = main(["check", "--statistics", str(project / "nets"), str(project / "a.cnn")])
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines[0].split()[:2] == ["1", "E201"] and lines[1].split()[:2] == ["1", "W103"]
    assert lines[-1] == "checked 3 files: 1 with errors, 1 warning"
    assert main(["check", "--statistics", "--format", "json", str(project / "a.cnn")]) == 2


def test_a_single_file_has_no_total_line_in_text(capsys) -> None:
    main(["check", str(SPECS / "lenet5.cnn")])
    assert "checked" not in capsys.readouterr().out


def test_unknown_codes_in_ignore_comments_are_warned_about() -> None:
    analysis = specc.check("input 8x8x1\nconv 4 3  # specc: ignore[W103, W10x, no-activaton]\nconv 4 3\nfc 2\n")
    unknown = [d for d in analysis.diagnostics if d.code == "W001"]
    assert [(d.span.line, d.span.column) for d in unknown] == [(2, 33), (2, 39)]
    assert "W10x" in unknown[0].message and "no-activation" in unknown[1].help
    assert not [d for d in analysis.diagnostics if d.code == "W103"]  # the known code still silences


def test_readable_numbers() -> None:
    assert readable(138_357_544) == "138,357,544 (138.4 M)" and scaled(15_470_264_320) == "15.5 G"
    assert readable(999) == "999" and readable(None) == "?"
    assert one_line(specc.check(SPECS / "vgg16.cnn")) == (
        "vgg16: 224x224x3 -> 1000, 138,357,544 (138.4 M) params, 15,470,264,320 (15.5 G) MACs")
    report = specc.report.render([specc.check(SPECS / "vgg16.cnn")], "text", color=False)
    assert "params       138,357,544 (138.4 M)" in report and "15,470,264,320 (15.5 G) per sample" in report


def test_the_table_fits_the_terminal_dropping_the_least_important_columns() -> None:
    analysis = specc.check(SPECS / "lenet5.cnn")
    full = table(analysis)
    narrow = table(analysis, 80)
    assert max(map(len, full)) > 80 and max(len(line) for line in narrow) <= 80
    assert narrow[2].startswith("(columns left out to fit 80 characters: density;")
    assert "density" not in narrow[3] and "params" in narrow[3] and "density" not in " ".join(narrow[:2])
    assert full[0].startswith("MACs: multiply-accumulates") and "density: fan-in / input size" in full[0]
    assert table(analysis, 50)[2].count(",") >= 3
    report = specc.report.render([analysis], "text", color=False, width=80, batch=64)
    assert max(len(line) for line in report.splitlines()) <= 80


def test_batch_adds_the_memory_estimate_to_text_and_json(capsys) -> None:
    assert main(["check", "--batch", "64", "--optimizer", "sgd", str(SPECS / "lenet5.cnn")]) == 0
    text = capsys.readouterr().out
    assert "memory       " in text and "at batch 64 with sgd" in text and "fp32" in text
    main(["check", "--format", "json", "--batch", "64", str(SPECS / "lenet5.cnn")])
    memory = json.loads(capsys.readouterr().out)["training_memory"]
    assert memory["batch"] == 64 and memory["optimizer"] == "adam" and memory["gradients_bytes"] == 4 * 62958
    assert memory["total_bytes"] == sum(memory[k] for k in ("parameters_bytes", "gradients_bytes",
                                                             "optimizer_state_bytes", "activations_bytes"))
    assert main(["check", "--batch", "0", str(SPECS / "lenet5.cnn")]) == 2
