"""The library's arguments: a wrong type is a TypeError naming the argument, what it takes and
what it got (Python's convention), raised before any work; and which strings are paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import specc
from specc.errors import SpeccError
from specc.source import is_path

SPEC = "input 8x8x1\nconv 4 3x3 relu\nfc 10 softmax\n"
NOT_SPECS = [None, 123, 1.5, ["input 8x8x1"], {}, object()]


@pytest.mark.parametrize("verb", ["check", "compile", "build"])
@pytest.mark.parametrize("value", NOT_SPECS, ids=lambda v: type(v).__name__)
def test_a_spec_of_the_wrong_type_is_a_type_error_naming_it(verb: str, value: object) -> None:
    with pytest.raises(TypeError, match=r"^spec must be a path \(str or os.PathLike\), the spec's text \(str\), "
                                        r"its bytes or .* an Analysis, not ") as raised:
        getattr(specc, verb)(value)
    assert ("not None" if value is None else f"not {type(value).__name__}") in str(raised.value)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_spec_bytes_of_every_bytes_like_type_are_read_as_utf8(kind: type) -> None:
    found = specc.check(kind(SPEC.encode()))
    assert found.to_dict() == specc.check(SPEC).to_dict() and found.ok and found.totals.params > 0
    assert specc.compile(kind(SPEC.encode())) == specc.compile(SPEC)


@pytest.mark.parametrize(("options", "argument", "got"), [
    ({"select": 5}, "select", "int: 5"), ({"ignore": [1, 2]}, "ignore", "list: [1, 2]"),
    ({"ignore": b"W103"}, "ignore", "bytes"), ({"path": 3}, "path", "int: 3"),
])
def test_options_of_the_wrong_type_are_type_errors_naming_them(options: dict, argument: str, got: str) -> None:
    with pytest.raises(TypeError, match=f"^{argument} must be ") as raised:
        specc.check(SPEC, **options)
    assert f"not {got}" in str(raised.value)


def test_rule_codes_may_be_any_iterable_of_strings() -> None:
    linear = "input 8x8x1\nconv 4 3x3\nfc 10\n"  # W103: no activation anywhere
    assert [d.code for d in specc.check(linear).diagnostics] == ["W103"]
    for ignore in ("W103", ["W103"], ("W1",), (code for code in ["W103"])):
        assert specc.check(linear, ignore=ignore).diagnostics == ()


@pytest.mark.parametrize(("call", "argument", "takes", "got"), [
    (lambda: specc.train(SPEC, "missing.npz", epochs="2"), "epochs", "an int", "str: '2'"),
    (lambda: specc.train(SPEC, "missing.npz", batch=2.0), "batch", "an int", "float: 2.0"),
    (lambda: specc.train(SPEC, "missing.npz", epochs=True), "epochs", "an int", "bool: True"),
    (lambda: specc.train(SPEC, "missing.npz", lr="0.1"), "lr", "a number", "str: '0.1'"),
    (lambda: specc.train(SPEC, "missing.npz", optimizer=3), "optimizer", "a str", "int: 3"),
    (lambda: specc.train(SPEC, "missing.npz", threads="4"), "threads", "an int", "str: '4'"),
    (lambda: specc.train(SPEC, "missing.npz", quiet="yes"), "quiet", "True or False", "str: 'yes'"),
    (lambda: specc.train(SPEC, {"x": 1}), "data", "a source name or path", "dict"),
    (lambda: specc.train(SPEC, "missing.npz", out=5), "out", "a path", "int: 5"),
    (lambda: specc.train(None, "missing.npz"), "spec", "a path", "None"),
    (lambda: specc.export("run", "m.onnx", batch="a"), "batch", "an int", "str: 'a'"),
    (lambda: specc.export("run", "m.onnx", opset="18"), "opset", "an int", "str: '18'"),
    (lambda: specc.export("run", "m.onnx", atol="1e-5"), "atol", "a number", "str: '1e-5'"),
    (lambda: specc.export("run", 5), "output", "a path", "int: 5"),
    (lambda: specc.export(None, "m.onnx"), "source", "a run directory", "None"),
    (lambda: specc.load(3.5), "run", "a run directory", "float: 3.5"),
])
def test_the_torch_verbs_name_an_argument_of_the_wrong_type(call, argument: str, takes: str, got: str,
                                                             tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may be written, and nothing is: the check comes first
    with pytest.raises(TypeError, match=f"^specc.(train|export|load)\\(\\) argument '{argument}' must be {takes}"
                       ) as raised:
        call()
    assert f"not {got}" in str(raised.value)
    assert not list(tmp_path.iterdir())


def test_numbers_of_any_numeric_type_are_accepted_where_numbers_are_expected(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    result = specc.train(SPEC, "synthetic:16", out=tmp_path / "run", epochs=np.int64(1), batch=8, lr=np.float32(0.01),
                         threads=1, quiet=True)
    assert len(result.history) == 1


def test_one_line_text_that_ends_in_cnn_is_text() -> None:
    found = specc.check("input 8x8x1 # x.cnn")  # was read as a path: cannot read 'input 8x8x1 # x.cnn'
    assert found.path == "<string>" and found.model is not None and found.model.input == (8, 8, 1)


@pytest.mark.parametrize(("spec", "path"), [
    ("net.cnn", True), ("specs/missing.cnn", True), ("nets/x", True), ("-", True), (Path("a b # c"), True),
    ("input 8x8x1 # x.cnn", False), ("my net.cnn", False), ("input 8x8x1\nfc 10 # x.cnn", False),
    ("fc 10", False), ("", False), (b"net.cnn", False),
])
def test_which_strings_name_files(spec, path: bool, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # none of these exists here
    assert is_path(spec) is path


def test_an_existing_file_is_a_path_even_with_spaces_in_its_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("my net.cnn").write_text(SPEC)
    assert specc.check("my net.cnn").path == "my net.cnn"
    with pytest.raises(SpeccError, match="cannot read 'specs/missing.cnn': No such file"):
        specc.check("specs/missing.cnn")


def test_the_library_never_opens_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.cnn"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    code = ("import specc, sys\n"
            "for name in sys.argv[1:]:\n"
            "    try:\n        specc.check(name)\n"
            "    except specc.SpeccError as exc:\n        print(exc.message)\n")
    out = subprocess.run([sys.executable, "-c", code, str(fifo), "/dev/zero", str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.splitlines() == [f"cannot read '{fifo}': not a regular file",
                                       "cannot read '/dev/zero': not a regular file",
                                       f"cannot read '{tmp_path}': Is a directory"], out.stderr


def test_checking_through_the_library_imports_nothing_heavy() -> None:
    code = ("import sys, specc\nspecc.check('input 8x8x1\\nfc 10\\n', select='W1', ignore=['W103'])\n"
            "try:\n    specc.check(None)\nexcept TypeError:\n    pass\n"
            "print(sorted(m for m in ('torch', 'numpy', 'pydantic', 'onnx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
