"""`specc compile` and specc.build: golden files, ruff, determinism, safety against
injection, refusal of specs with errors, and the generated class's interface.
Shapes and numbers against torch are in test_compile_oracle.py."""

from __future__ import annotations

import ast
import builtins
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import specs
from update_golden import golden_path

import specc
from specc import kinds
from specc.cli import main
from specc.codegen import EMITTERS, attributes, generate
from specc.codegen.names import MODULE_ATTRIBUTES, class_name
from specc.diagnostics import one_line
from specc.errors import SpeccError

ROOT = Path(__file__).resolve().parent.parent
SPECS = [p for p in sorted((ROOT / "specs").glob("*.cnn")) if specc.check(p).ok]
BAD = "model bad\ninput 4x4x1\nconv 8 9x9 relu\nfc 3\n"


def ruff(paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                           str(ROOT / "pyproject.toml"), *map(str, paths)], capture_output=True, text=True)


def top_level(source: str) -> tuple[list[ast.stmt], ast.ClassDef]:
    tree = ast.parse(source)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert len(classes) == 1
    return tree.body, classes[0]


def test_every_layer_kind_has_an_emitter() -> None:
    assert set(EMITTERS) == set(kinds.SHAPE_RULES) == set(kinds.KINDS)


def test_reserved_names_cover_every_public_nn_module_attribute() -> None:
    public = {n for n in dir(torch.nn.Module()) if not n.startswith("_")}
    assert public <= MODULE_ATTRIBUTES, sorted(public - MODULE_ATTRIBUTES)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_golden_file_is_up_to_date(spec: Path) -> None:
    golden = golden_path(spec)
    assert golden.is_file(), f"no golden file for {spec.name}: run `python tests/update_golden.py`"
    assert generate(specc.check(spec)) == golden.read_text(encoding="utf-8"), \
        f"{golden.name} is out of date: run `python tests/update_golden.py` and review the diff"


def test_golden_files_and_generated_nasty_specs_pass_ruff(tmp_path: Path) -> None:
    for index, text in enumerate(NASTY_SPECS):
        (tmp_path / f"nasty_{index}.py").write_text(generate(specc.check(text, NASTY_PATH)), encoding="utf-8")
    result = ruff([*sorted((ROOT / "tests" / "golden").glob("*.py")), tmp_path])
    assert result.returncode == 0, result.stdout + result.stderr


def test_golden_files_and_nasty_specs_survive_ruff_format_at_its_defaults(tmp_path: Path) -> None:
    """A repository that formats on commit leaves generated files alone, so `specc compile --check` stays
    green: `ruff format` with no settings at all (--isolated: line length 88), not the project's."""
    for index, text in enumerate(NASTY_SPECS):
        (tmp_path / f"nasty_{index}.py").write_text(generate(specc.check(text, NASTY_PATH)), encoding="utf-8")
    golden = sorted((ROOT / "tests" / "golden").glob("*.py"))
    result = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "--isolated", "--no-cache",
                             *map(str, golden), str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(specs(), min_size=15, max_size=15))
def test_generated_code_for_random_specs_passes_ruff(drawn) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for index, generated in enumerate(drawn):
            Path(folder, f"spec_{index}.py").write_text(generate(specc.check(generated.text, "g.cnn")))
        result = ruff([Path(folder)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_generation_is_deterministic_across_processes_and_hash_seeds() -> None:
    spec = ROOT / "specs" / "mobilenet-block.cnn"
    expected = generate(specc.check(spec))
    code = "import sys, specc; from specc.codegen import generate; sys.stdout.write(generate(specc.check(sys.argv[1])))"
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, env=env,
                             check=True)
        assert out.stdout == expected
    assert f"specc {specc.__version__}" in expected.splitlines()[0]


def test_emitted_file_imports_only_torch_and_defines_one_module_class() -> None:
    body, cls = top_level(generate(specc.check(ROOT / "specs" / "lenet5.cnn")))
    imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules = {a.name for n in imports if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in imports if isinstance(n, ast.ImportFrom)}
    assert modules == {"torch"}
    assert all(isinstance(n, (ast.Expr, ast.Import, ast.ImportFrom, ast.ClassDef)) for n in body)
    assert cls.name == "Lenet5" and ast.unparse(cls.bases[0]) == "nn.Module"


# Each tries to break out of a comment, docstring or string: closing quotes,
# backslash escapes, line breaks Python honours (\r, \x0c) or str.splitlines does.
NASTY_PATH = 'evil"""\nimport os; os.system("echo pwned")\n#.cnn'
NASTY_SPECS = [
    '# """; import builtins; builtins.PWNED = 1; """\ninput 8x8x1\nconv 2 3x3\n',
    "# ends in a backslash \\\ninput 8x8x1 # \\N{ \\u \\x \"\ninput_shape: conv 2 3x3 relu\n",
    "model None\ninput 6x6x2\nforward: conv 2 3x3\n\tclass: relu # \x0cbuiltins.PWNED = 1\ntraining: fc 3\n",
    "# \x0bimport builtins\x0c\u2028builtins.PWNED = 1\u2029\x85\x1c\ninput 5x5x1\n__init__: conv 1 1\n_x: fc 2\n",
    "input 4\nlogits: fc 3\n__dict__: relu\nforward_: fc 2\nforward: softmax\n",
    "model " + "very_long_name_" * 12 + "\ninput 4x4x1\n" + "a" * 130 + ": conv 1 1  # " + "#" * 200 + "\n",
    "input 8x8x1\r\nconv 1 3x3 \t\f\x0b relu\r\nfc 2 # \"\"\"\r\n",
]


@pytest.mark.parametrize("text", NASTY_SPECS)
def test_nothing_from_the_spec_can_inject_code(text: str) -> None:
    analysis = specc.check(text, NASTY_PATH)
    assert analysis.ok, analysis.diagnostics
    source = generate(analysis)
    body, cls = top_level(source)
    assert [type(n).__name__ for n in body] == ["Expr", "Import", "ImportFrom", "ClassDef"]
    assert [type(n).__name__ for n in cls.body] == ["Expr", "Assign", "Assign", "Assign", "Assign",
                                                    "FunctionDef", "FunctionDef", "FunctionDef"]
    assert cls.name.isidentifier() and not cls.name.startswith("_")
    names = {t.attr for n in ast.walk(cls) if isinstance(n, ast.Assign) for t in n.targets
             if isinstance(t, ast.Attribute)}
    assert names == set(attributes(analysis).values()) | {n for n in names if n.endswith("_pad")}
    docstring = cls.body[0].value.value
    assert analysis.model.name in docstring and "echo pwned" in docstring
    for line in analysis.source.replace("\r\n", "\n").split("\n"):
        assert line.expandtabs(4).rstrip() in docstring
    model = specc.build(text, path=NASTY_PATH)
    assert not hasattr(builtins, "PWNED")
    assert type(model).spec_name == analysis.model.name


@pytest.mark.parametrize("name, expected", [
    ("lenet5", "Lenet5"), ("my-net", "MyNet"), ("vgg_16", "Vgg16"), ("ResNet", "ResNet"), ("16layers", "Model16layers"),
    ("none", "None_"), ("___", "Model"), ("a b.c", "ABC"), ('x"""y', "XY"),
])
def test_class_name_is_camel_case_and_an_identifier(name: str, expected: str) -> None:
    assert class_name(name) == expected


def test_file_stem_names_the_class_when_there_is_no_model_statement(tmp_path: Path) -> None:
    spec = tmp_path / "my-net.cnn"
    spec.write_text("input 4\nfc 2\n")
    model = specc.build(spec)
    assert type(model).__name__ == "MyNet" and model.spec_name == "my-net"
    assert type(specc.build(str(spec)))().spec_name == "my-net"  # a str path; constructible without arguments


def test_a_block_named_like_the_network_gets_a_class_of_its_own(tmp_path: Path) -> None:
    """`res.cnn` with `block res` made two classes `Res`: the second replaced the first, whose
    instances then built themselves until RecursionError. The network keeps its name."""
    spec = tmp_path / "res.cnn"
    spec.write_text("input 8x8x4\nblock res(f) {\n  conv f 3x3 p=same relu\n  add in\n}\nr1: res 4\nr2: res 4\n"
                    "flatten\nfc 2\n")
    model = specc.build(spec)
    assert type(model).__name__ == "Res" and type(model.r1).__name__ == "Res2"
    assert model(torch.zeros(1, 4, 8, 8)).shape == (1, 2)


def test_generated_class_attributes() -> None:
    model = specc.build("model tiny\ninput 6x6x2\nconv 3 3x3\nglobalavgpool\nsigmoid\n")
    assert (model.spec_name, model.input_shape, model.final_activation, model.num_outputs) == \
        ("tiny", (2, 6, 6), "sigmoid", 3)
    vector = specc.build("input 5\nfc 4 relu\n")
    assert (vector.input_shape, vector.final_activation, vector.num_outputs) == ((5,), None, 4)
    x = torch.randn(3, 5)
    assert torch.equal(vector.logits(x), vector(x))


def test_a_final_activation_on_its_own_line_is_kept_out_of_logits() -> None:
    model = specc.build("input 4\nfc 3\nsoftmax\n").eval()
    x = torch.randn(2, 4)
    torch.testing.assert_close(model(x), torch.softmax(model.logits(x), dim=1))
    assert model.logits(x).sum().abs() > 1e-3  # scores, not probabilities that sum to 1 per row


def test_generated_module_trains(tmp_path: Path) -> None:
    model = specc.build(ROOT / "specs" / "mobilenet-block.cnn")
    loss = torch.nn.functional.cross_entropy(model.logits(torch.randn(3, *model.input_shape)), torch.tensor([0, 1, 2]))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_build_refuses_a_spec_with_errors_with_the_check_diagnostics() -> None:
    with pytest.raises(specc.SpecCheckError) as caught:
        specc.build(BAD, path="bad.cnn")
    assert caught.value.status == 1
    assert [d.code for d in caught.value.analysis.errors] == ["E201"]  # the diagnostics travel as data
    lines = [one_line(d, "bad.cnn") for d in specc.check(BAD, "bad.cnn").diagnostics]  # as --format concise
    assert str(caught.value).splitlines() == ["bad.cnn has errors; nothing was built", *lines]
    assert lines[0].startswith("bad.cnn:3:8: error[E201] output height would be 0")


def test_build_reports_a_missing_file() -> None:
    with pytest.raises(SpeccError) as caught:
        specc.build("no/such/spec.cnn")
    assert caught.value.status == 2 and "no/such/spec.cnn" in caught.value.message


def test_compile_refuses_errors_like_check_and_writes_nothing(tmp_path: Path, capsys) -> None:
    spec, out = tmp_path / "bad.cnn", tmp_path / "bad.py"
    spec.write_text(BAD)
    assert main(["check", "--quiet", "--color", "never", str(spec)]) == 1
    expected = capsys.readouterr().out
    assert main(["compile", str(spec), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err == expected and captured.out == ""
    assert "error[E201]" in captured.err
    assert list(tmp_path.iterdir()) == [spec]


def test_compile_writes_atomically_and_check_detects_stale_files(tmp_path: Path, capsys) -> None:
    spec, out = ROOT / "specs" / "lenet5.cnn", tmp_path / "lenet5.py"
    out.write_text("old contents")
    assert main(["compile", str(spec), "-o", str(out), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["compile", str(spec), "-o", str(out)]) == 0
    assert out.read_text() == generate(specc.check(spec))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet5.py"]  # no temporary file left
    assert main(["compile", str(spec), "-o", str(out), "--check"]) == 0
    assert main(["compile", str(spec)]) == 0
    assert capsys.readouterr().out == out.read_text()


def test_compile_usage_and_io_problems_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["compile", str(tmp_path / "missing.cnn")]) == 2
    assert main(["compile", str(ROOT / "specs" / "lenet5.cnn"), "--check"]) == 2
    assert main(["compile", str(ROOT / "specs" / "lenet5.cnn"), "-o", str(tmp_path / "no" / "dir.py")]) == 2
    assert "specc: error: cannot write" in capsys.readouterr().err


def test_written_file_imports_and_matches_build(tmp_path: Path) -> None:
    out = tmp_path / "lenet_module.py"
    assert main(["compile", str(ROOT / "specs" / "lenet5.cnn"), "-o", str(out)]) == 0
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    written, built = namespace["Lenet5"](), specc.build(ROOT / "specs" / "lenet5.cnn")
    assert list(written.state_dict()) == list(built.state_dict())
    built.load_state_dict(written.state_dict())
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(built(x), written(x))


def test_specc_build_stays_callable_after_its_module_is_imported() -> None:
    import importlib

    importlib.import_module("specc.runtime.build")  # importing the implementation must not shadow specc.build
    assert isinstance(specc.build("input 3\nfc 2\n"), torch.nn.Module)
    from specc.runtime.build import build

    assert build("input 3\nfc 2\n").num_outputs == 2


def test_compile_reads_stdin(monkeypatch, capsys) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"model piped\ninput 3\nfc 2\n")))
    assert main(["compile", "-"]) == 0
    out = capsys.readouterr().out
    assert "class Piped(nn.Module):" in out and "from <stdin>" in out.splitlines()[0]
