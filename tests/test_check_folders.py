"""`specc check` over many files: each is checked, written and let go, so memory does not grow
with the number of files, and the report is the one the whole list would render. Messages
about very long paths keep their start and end.
"""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path

import pytest

from specc.cli import main
from specc.errors import SpeccError
from specc.report import render
from specc.source import read

ROOT = Path(__file__).resolve().parent.parent
LENET = (ROOT / "specs" / "lenet5.cnn").read_text()
MIXED = {"a_ok.cnn": LENET, "b_typo.cnn": "input 8x8x1\ncovn 4 3x3\nfc 10\n",
         "c_linear.cnn": "input 8x8x1\nconv 4 3x3\nfc 10\n", "d_ok.cnn": "input 8x8x1\nfc 10 softmax\n"}


def copies(folder: Path, count: int) -> Path:
    folder.mkdir()
    for index in range(count):
        shutil.copyfile(ROOT / "specs" / "lenet5.cnn", folder / f"net{index:05}.cnn")
    return folder


def peak_of(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """The most memory Python held while `specc ARGV` ran, its report written to /dev/null."""
    with open(os.devnull, "w") as nowhere:
        monkeypatch.setattr("sys.stdout", nowhere)
        main(["check", "-q", str(ROOT / "specs" / "lenet5.cnn")])  # imports and caches first: not part of the peak
        tracemalloc.start()
        try:
            assert main(argv) == 0
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            monkeypatch.undo()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_memory_does_not_grow_with_the_number_of_files(tmp_path: Path, monkeypatch, fmt: str) -> None:
    few, many = copies(tmp_path / "few", 40), copies(tmp_path / "many", 200)
    small, large = (peak_of(["check", "-f", fmt, str(folder)], monkeypatch) for folder in (few, many))
    # Holding every analysis cost ~10 KB a file: 1.6 MB more for 160 more files. What may grow is
    # the list of names and a verdict (path and diagnostics) per file: well under 1 KB a file.
    assert large - small < 160 * 1_000, f"{small:,} bytes for 40 files, {large:,} for 200"


@pytest.mark.parametrize(("fmt", "options"), [
    ("text", []), ("text", ["-q"]), ("text", ["--strict"]), ("concise", []), ("json", []), ("sarif", []),
    ("github", []), ("concise", ["--statistics"]), ("json", ["--batch", "4"]),
])
def test_the_streamed_report_is_the_report_of_the_whole_list(tmp_path: Path, capsys, fmt: str,
                                                             options: list[str]) -> None:
    for name, text in MIXED.items():
        (tmp_path / name).write_text(text)
    files = sorted(str(p) for p in tmp_path.glob("*.cnn"))
    status = main(["check", "-f", fmt, "--color", "never", *options, str(tmp_path)])
    out = capsys.readouterr().out
    analyses = [read(name) for name in files]
    if "--statistics" in options:
        from specc.report.concise import statistics

        expected = statistics(analyses)
    else:
        expected = render(analyses, fmt, quiet="-q" in options, color=False,
                          batch=4 if "--batch" in options else None)
    assert out == expected + "\n"
    assert status == 1  # b_typo.cnn has an error, whichever file the report ended on


def test_strict_fails_on_a_warning_in_any_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.cnn").write_text(MIXED["c_linear.cnn"])  # W103, first
    (tmp_path / "b.cnn").write_text(LENET)
    assert main(["check", "-q", str(tmp_path)]) == 0
    assert main(["check", "-q", "--strict", str(tmp_path)]) == 1


def test_an_unreadable_deep_folder_is_named_by_its_start_and_end(tmp_path: Path, capsys, monkeypatch) -> None:
    deep = tmp_path.joinpath(*["aaaa"] * 500, "inner")  # 2,500 characters deep: never made
    (tmp_path / "ok.cnn").write_text(LENET)
    walk = os.walk

    def walk_failing_deep_down(top, onerror=None, **options):  # as os.walk reports a folder it cannot list
        yield from walk(top, onerror=onerror, **options)
        onerror(PermissionError(13, "Permission denied", str(deep)))

    monkeypatch.setattr(os, "walk", walk_failing_deep_down)
    assert main(["check", "-q", str(tmp_path)]) == 2
    (message,) = capsys.readouterr().err.splitlines()
    assert message.startswith(f"specc: error: cannot read folder '{str(tmp_path)[:20]}")
    assert "/…/aaaa/aaaa/" in message and message.endswith(
        f"/aaaa/inner' (a path of {len(str(deep)):,} characters): Permission denied")
    assert len(message) < 300  # it was 2,600 here, and 25 KB for the audit's folder


def test_a_long_name_on_the_command_line_is_shortened_too(tmp_path: Path, capsys) -> None:
    name = str(tmp_path / ("n" * 200) / ("m" * 200) / "missing.cnn")
    assert main(["check", name]) == 2
    err = capsys.readouterr().err
    assert "…" in err and "/missing.cnn' (a path of" in err and len(err) < 300


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_file_that_cannot_be_read_is_left_out_and_reported_after(tmp_path: Path, capsys, monkeypatch,
                                                                   fmt: str) -> None:
    import json

    import specc.source

    for name in ("a.cnn", "b.cnn", "c.cnn"):
        (tmp_path / name).write_text(LENET)
    real = specc.source.read

    def read(spec, *args, **options):  # b.cnn cannot be read by the time its turn comes (permissions, removed)
        if str(spec).endswith("b.cnn"):
            raise SpeccError(f"cannot read '{spec}': Permission denied", 2)
        return real(spec, *args, **options)

    monkeypatch.setattr(specc.source, "read", read)
    assert main(["check", "-f", fmt, str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert err == f"specc: error: cannot read '{tmp_path / 'b.cnn'}': Permission denied\n"
    if fmt == "json":  # still one whole JSON document, of the files read
        assert [entry["file"] for entry in json.loads(out)] == [str(tmp_path / "a.cnn"), str(tmp_path / "c.cnn")]
    else:
        assert out.rstrip().endswith("checked 2 files: 0 with errors, 0 warnings")
