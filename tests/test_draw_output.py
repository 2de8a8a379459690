"""`specc draw -o` and `specc compile -o` take a file name: an empty one or one ending in `/` names
no file, and is refused (exit 2, the argument named) instead of quietly becoming `net.svg`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specc.cli import main

SPEC = "input 8x8x1\nconv 2 3x3\n"


@pytest.mark.parametrize(("command", "output", "named"), [
    ("draw", "l.svg/", "-o l.svg/: a name ending in '/' is a folder; give a file name such as 'l.svg'"),
    ("draw", "", "-o '': give a file name such as 'model.svg', or - for stdout"),
    ("draw", "pictures/", "'pictures/model.svg'"),
    ("compile", "l.py/", "-o l.py/: a name ending in '/' is a folder; give a file name such as 'l.py'"),
    ("compile", "", "-o '': give a file name such as 'model.py', or - for stdout"),
])
def test_a_name_that_is_no_file_name_is_refused(command: str, output: str, named: str, tmp_path: Path,
                                                capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("l.cnn").write_text(SPEC)
    assert main([command, "l.cnn", "-o", output]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert sorted(os.listdir()) == ["l.cnn"]  # nothing written, neither l.svg nor l.py


def test_a_plain_file_name_is_still_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("l.cnn").write_text(SPEC)
    assert main(["draw", "l.cnn", "-o", "l.svg"]) == 0 and main(["compile", "l.cnn", "-o", "l.py"]) == 0
    assert sorted(os.listdir()) == ["l.cnn", "l.py", "l.svg"]
