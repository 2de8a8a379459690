"""`specc new` (the shipped examples) and the message for a missing optional dependency.

A missing package is simulated, never uninstalled: the child process sets
``sys.modules[name] = None``, which makes ``import name`` raise
ModuleNotFoundError exactly as an absent package does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from specc.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def test_new_prints_an_example_byte_for_byte(capsys) -> None:
    assert main(["new", "lenet5"]) == 0
    assert capsys.readouterr().out == (SPECS / "lenet5.cnn").read_text()
    assert main(["new", "mobilenet_block"]) == 0  # the model's name works as well as the file's
    assert capsys.readouterr().out == (SPECS / "mobilenet-block.cnn").read_text()


def test_new_lists_every_example_with_its_description(capsys) -> None:
    assert main(["new"]) == 0
    listed = capsys.readouterr().out
    assert main(["new", "--list"]) == 0
    assert capsys.readouterr().out == listed
    rows = {line.split()[0]: line for line in listed.splitlines()[:-2]}
    assert set(rows) == {p.stem for p in SPECS.glob("*.cnn")}
    assert rows["lenet5"].split(None, 1)[1] == "the LeNet-5 style network of the course's lecture 1.10"


def test_an_unknown_example_gets_a_suggestion(capsys) -> None:
    assert main(["new", "lenet"]) == 2
    assert "no example named 'lenet'; did you mean `lenet5`?" in capsys.readouterr().err


def without(modules: list[str], *argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    code = ("import sys\n"
            f"for name in {modules!r}: sys.modules[name] = None\n"
            "from specc.cli import main\n"
            "raise SystemExit(main(sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=cwd,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("missing, argv, extra", [
    (["torch"], ["train", "specs/digits.cnn", "--data", "digits"], "torch"),
    (["torch"], ["export", "specs/lenet5.cnn", "-o", "never.onnx"], "torch"),
    (["onnx"], ["export", "specs/lenet5.cnn", "-o", "never.onnx"], "onnx"),
    (["torch"], ["predict", "runs/none", "x.png"], "torch"),
    (["onnxruntime"], ["predict", "specs/none.onnx", "x.png"], "onnx"),
    (["torch"], ["val", "runs/none"], "torch"),
    (["matplotlib", "torch"], ["val", "runs/none"], "torch"),
])
def test_a_missing_extra_is_named_with_exit_2(missing, argv, extra, tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    for name in ("digits.cnn", "lenet5.cnn"):
        (tmp_path / "specs" / name).write_text((SPECS / name).read_text())
    (tmp_path / "specs" / "none.onnx").write_bytes(b"")
    done = without(missing, *argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"pip install 'specc-cnn[{extra}]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "never.onnx").exists()


def test_check_and_compile_need_no_extra() -> None:
    done = without(["torch", "numpy", "onnx"], "check", "-q", "specs/lenet5.cnn")
    assert done.returncode == 0, done.stderr
    assert without(["torch", "numpy", "onnx"], "compile", "specs/lenet5.cnn").returncode == 0


def test_specc_build_names_the_extra_as_an_import_error() -> None:
    code = ("import sys; sys.modules['torch'] = None; import specc\n"
            "try:\n    specc.build\nexcept ImportError as exc:\n    print(type(exc).__name__, exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.startswith("MissingExtra specc.build needs torch")
    assert "pip install 'specc-cnn[torch]'" in done.stdout


def test_the_schemas_that_need_torch_name_its_extra() -> None:
    done = without(["torch"], "schema", "checkpoint")
    assert done.returncode == 2 and "pip install 'specc-cnn[torch]'" in done.stderr, done.stderr
    assert without(["torch"], "schema", "report").returncode == 0  # the report's schema needs no extra
