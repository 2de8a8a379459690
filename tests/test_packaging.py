"""The distribution: specc-cnn on PyPI (`specc` there is another project), the `specc` package and command.

A plain (non-editable) install works: the grammar and the example specs ship
inside the wheel, and pip installs the `specc` command from it. Every install
hint a user can read names specc-cnn: `pip install specc` installs a spectrum
analyser, and `'specc[torch]'` that analyser without torch.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import specc
from specc.extras import DISTRIBUTION, install_hint

ROOT = Path(__file__).resolve().parent.parent
WHEEL_NAME = DISTRIBUTION.replace("-", "_")  # the wheel's file and dist-info spelling (PEP 427)
# `pip install specc`, `pip install "specc[torch]"`, `'specc[onnx]'`: the old name, with or without extras.
OLD_NAME = re.compile(r"""pip3? install\s+(?:-\S+\s+)*['"]?specc(?![\w-])|(?<![\w./-])specc\[""")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The wheel and the sdist, built once from this tree as `python -m build` builds them."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "--outdir", str(out),
                    str(ROOT)], check=True, capture_output=True)
    return out


def test_the_project_is_distributed_as_specc_cnn_with_extras_of_its_own() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION == "specc-cnn"
    assert "version" not in project and project["dynamic"] == ["version"]  # specc/version.py's __version__
    assert project["scripts"] == {"specc": "specc.cli:main"}
    extras = project["optional-dependencies"]
    self_references = [r for needs in extras.values() for r in needs if re.match(r"specc\b", r)]
    assert self_references and all(r.startswith(f"{DISTRIBUTION}[") for r in self_references), self_references
    used = {extra for r in self_references for extra in r[len(DISTRIBUTION) + 1:-1].split(",")}
    assert used <= set(extras)


def test_the_built_wheel_carries_the_grammar_and_checks_a_spec(built: Path, tmp_path: Path) -> None:
    (wheel,) = built.glob("*.whl")
    assert wheel.name.startswith(f"{WHEEL_NAME}-{specc.__version__}-"), wheel.name
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "specc/grammar/specc.lark" in names
        assert "specc/py.typed" in names  # type checkers read the library's hints
        metadata = archive.read(f"{WHEEL_NAME}-{specc.__version__}.dist-info/METADATA").decode()
        assert f"\nName: {DISTRIBUTION}\n" in metadata and f"\nVersion: {specc.__version__}\n" in metadata
        entry_points = archive.read(f"{WHEEL_NAME}-{specc.__version__}.dist-info/entry_points.txt").decode()
        assert "[console_scripts]\nspecc = specc.cli:main" in entry_points
        shipped = {name.removeprefix("specc/examples/") for name in names if name.startswith("specc/examples/")}
        assert shipped == {p.name for p in (ROOT / "specs").iterdir()}
        assert archive.read("specc/examples/lenet5.cnn") == (ROOT / "specs" / "lenet5.cnn").read_bytes()
        archive.extractall(tmp_path / "site")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import specc, specc.syntax.lalr;"
            "assert specc.__file__.startswith(sys.argv[1]), specc.__file__;"
            "assert str(specc.syntax.lalr.grammar_path()).startswith(sys.argv[1]);"
            "import pygments.lexers as lexers;"  # the wheel's entry point registers the .cnn lexer
            "assert type(lexers.get_lexer_by_name('cnn')).__module__ == 'specc.integrations.highlight';"
            "assert lexers.get_lexer_for_filename('net.cnn').name == 'specc .cnn';"
            "print(specc.check(sys.argv[2]).totals.params)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site"), str(ROOT / "specs" / "lenet5.cnn")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "62958"


def test_pip_installs_the_specc_command_from_the_wheel(built: Path, tmp_path: Path) -> None:
    (wheel,) = built.glob("*.whl")
    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    command = target / "bin" / "specc"
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert version.stdout.strip() == f"specc {specc.__version__}", version.stderr
    new = subprocess.run([str(command), "new", "lenet5"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert new.stdout == (ROOT / "specs" / "lenet5.cnn").read_text()


def test_the_sdist_is_specc_cnn_and_carries_what_the_wheel_is_built_from(built: Path) -> None:
    (sdist,) = built.glob("*.tar.gz")
    top = f"{WHEEL_NAME}-{specc.__version__}"
    assert sdist.name == f"{top}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
        info = archive.extractfile(f"{top}/PKG-INFO").read().decode()
    assert {f"{top}/grammar/specc.lark", f"{top}/specs/lenet5.cnn", f"{top}/specc/__init__.py"} <= names
    assert f"\nName: {DISTRIBUTION}\n" in info


def _blocks(section: str) -> list[list[list[str]]]:
    """The README section's ```sh blocks: per block, per line, its commands (split at `&&`, comments dropped)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    text = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [[[part.strip() for part in line.split(" #")[0].split("&&")] for line in block.splitlines()]
            for block in re.findall(r"```sh\n(.*?)```", text, re.S)]


def test_two_commands_set_up_and_ci_runs_the_readmes() -> None:
    """On a fresh machine two commands do the set-up: one runs the main job on an example spec,
    one passes the tests; .ci/run runs exactly those, in that order."""
    use, develop = _blocks("Use it"), _blocks("Develop it")
    assert [len(block) for block in use + develop] == [2, 2, 2]
    from_pypi, from_clone = use
    assert from_pypi[0] == [f"pip install '{DISTRIBUTION}[torch]'"]
    assert from_clone[0] == ["pip install torch==2.13.0 -e '.[torch]'"]
    [install, chromium], [test] = develop[0]
    main_job = from_clone[1][0]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert ci.index(install) < ci.index(main_job) < ci.index(test) == len(ci) - 1
    assert install == "pip install torch==2.13.0 -e '.[dev]'" and test == "python -m pytest -q -n 2"
    assert chromium.endswith("apt-get install -y chromium")
    assert any(line.startswith("command -v chromium") and "apt-get install" in line for line in ci)


def _user_facing_files():
    """What users read: messages and docstrings in specc/, the docs, the README, the editor folder."""
    for folder in ("specc", "docs", "editors"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "node_modules" not in path.parts and path.suffix != ".pyc":
                yield path
    yield ROOT / "README.md"


def test_no_message_or_doc_tells_users_to_install_the_other_specc() -> None:
    found = []
    for path in _user_facing_files():
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
                  for m in OLD_NAME.finditer(text)]
    assert found == []
    assert install_hint("torch") == "pip install 'specc-cnn[torch]'"


@pytest.mark.parametrize("line", ["pip install specc", "pip install 'specc[torch]'", 'pip install "specc[all]"',
                                  "pip install -U specc", "`'specc[onnx]'` for export"])
def test_the_old_name_is_recognised(line: str) -> None:
    assert OLD_NAME.search(line)
    assert not OLD_NAME.search(line.replace("specc", DISTRIBUTION))
