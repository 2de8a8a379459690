"""A plain (non-editable) install works: the grammar and the example specs ship inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_built_wheel_carries_the_grammar_and_checks_a_spec(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("specc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "specc/grammar/specc.lark" in names
        assert "specc/py.typed" in names  # type checkers read the library's hints
        assert any(name.endswith("entry_points.txt") for name in names)
        shipped = {name.removeprefix("specc/examples/") for name in names if name.startswith("specc/examples/")}
        assert shipped == {p.name for p in (ROOT / "specs").iterdir()}
        assert archive.read("specc/examples/lenet5.cnn") == (ROOT / "specs" / "lenet5.cnn").read_bytes()
        archive.extractall(tmp_path / "site")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import specc, specc.syntax_lalr;"
            "assert specc.__file__.startswith(sys.argv[1]), specc.__file__;"
            "assert str(specc.syntax_lalr.grammar_path()).startswith(sys.argv[1]);"
            "import pygments.lexers as lexers;"  # the wheel's entry point registers the .cnn lexer
            "assert type(lexers.get_lexer_by_name('cnn')).__module__ == 'specc.pygments_lexer';"
            "assert lexers.get_lexer_for_filename('net.cnn').name == 'specc .cnn';"
            "print(specc.check(sys.argv[2]).totals.params)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site"), str(ROOT / "specs" / "lenet5.cnn")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "62958"
    new_code = ("import sys; sys.path.insert(0, sys.argv[1]); from specc.cli import main;"
                "raise SystemExit(main(['new', 'lenet5']))")
    new = subprocess.run([sys.executable, "-c", new_code, str(tmp_path / "site")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert new.stdout == (ROOT / "specs" / "lenet5.cnn").read_text()
