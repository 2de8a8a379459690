"""Choosing and silencing rules: --select/--ignore, [tool.specc] in pyproject.toml,
`# specc: ignore` comments, and the usage errors for unknown codes."""

from __future__ import annotations

from pathlib import Path

import pytest

import specc
from specc.cli import main
from specc.errors import SpeccError
from specc.lint import registry
from specc.lint.selection import enabled
from specc.source import enabled_rules

# Trips W101 and W102 on line 3 (fc on a 30x30 map, no activation before fc) and W402 on line 4.
SPEC = """input 32x32x3
conv 8 3x3 relu
fc 64
dropout 0
fc 10 softmax
"""


def codes(text: str = SPEC, **options) -> list[str]:
    return sorted(d.code for d in specc.check(text, "net.cnn", **options).warnings)


def test_default_rules_run_without_options() -> None:
    assert codes() == ["W101", "W102", "W402"]
    assert enabled() == registry.DEFAULTS


@pytest.mark.parametrize(("select", "expected"), [
    (["W4"], ["W402"]),
    (["W101", "useless-dropout"], ["W101", "W402"]),
    (["w10"], ["W101", "W102"]),
    ([], []),
])
def test_select_takes_codes_prefixes_and_names(select: list[str], expected: list[str]) -> None:
    assert codes(select=select) == expected


def test_all_includes_the_opt_in_rules() -> None:
    assert enabled(["ALL"]) == frozenset(registry.RULES)
    assert "W303" not in enabled() and "W303" in enabled(["ALL"])


def test_ignore_removes_from_the_selection() -> None:
    assert codes(ignore=["W402"]) == ["W101", "W102"]
    assert codes(select=["W1"], ignore=["W102"]) == ["W101"]
    assert codes(select=["ALL"], ignore=["ALL"]) == []


@pytest.mark.parametrize(("selector", "message"), [
    ("W1O1", "unknown rule `W1O1` in select; did you mean `W101`?"),
    ("dense-on-large", "unknown rule `dense-on-large` in select; did you mean `dense-on-large-map`?"),
    ("X9", "unknown rule `X9` in select; `specc rules` lists them"),
    ("E201", "`E201` in select is an error code: errors are always reported"),
    ("E2", "`E2` in select is an error code"),
])
def test_unknown_selectors_are_usage_errors(selector: str, message: str) -> None:
    with pytest.raises(SpeccError) as raised:
        codes(select=[selector])
    assert raised.value.status == 2 and raised.value.message.startswith(message)


# --- inline suppression -------------------------------------------------------

@pytest.mark.parametrize(("comment", "expected"), [
    ("# specc: ignore", []),
    ("# specc: ignore[W101]", ["W102"]),
    ("# specc: ignore[W101, W102]", []),
    ("# specc:ignore[W1]", []),
    ("# specc: ignore[consecutive-linear-layers]", ["W101"]),
    ("# SPECC: IGNORE[all]", []),
    ("# fc layer; specc: ignore[W402]", ["W101", "W102"]),
    ("# specc: ignore[W999]", ["W001", "W101", "W102"]),  # silences nothing, and W001 says so
    ("# specc ignore", ["W101", "W102"]),
])
def test_inline_comment_silences_its_own_line(comment: str, expected: list[str]) -> None:
    text = SPEC.replace("fc 64\n", f"fc 64   {comment}\n")
    warnings = specc.check(text, "net.cnn").warnings
    assert sorted(d.code for d in warnings if d.line == 3) == expected
    assert [d.code for d in warnings if d.line != 3] == ["W402"]


def test_errors_cannot_be_silenced_inline() -> None:
    analysis = specc.check("input 4x4x1\nconv 2 5x5   # specc: ignore\n")
    assert [d.code for d in analysis.errors] == ["E201"]


# --- [tool.specc] in pyproject.toml -------------------------------------------

def project(tmp_path: Path, table: str, spec: str = "specs/net.cnn") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n{table}\n")
    path = tmp_path / spec
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SPEC)
    return path


def run_options(path: Path, select: list[str] | None = None, ignore: list[str] | None = None) -> list[str]:
    return sorted(d.code for d in specc.check(path, select=select, ignore=ignore).warnings)


def test_table_select_extend_and_ignore(tmp_path: Path) -> None:
    path = project(tmp_path, '[tool.specc]\nselect = ["W1"]\nextend-select = ["W4"]\nignore = ["W102"]')
    assert run_options(path) == ["W101", "W402"]


def test_command_line_wins_over_the_table(tmp_path: Path) -> None:
    path = project(tmp_path, '[tool.specc]\nignore = ["W101", "W402"]')
    assert run_options(path) == ["W102"]
    assert run_options(path, select=["W101"]) == ["W101"]
    assert run_options(path, ignore=["W102"]) == []


def test_per_file_ignores_by_glob_and_by_name(tmp_path: Path) -> None:
    table = '[tool.specc.per-file-ignores]\n"specs/*.cnn" = ["W4"]\n"other.cnn" = ["W1"]'
    path = project(tmp_path, table)
    assert run_options(path) == ["W101", "W102"]
    other = project(tmp_path / "elsewhere", table, "other.cnn")
    assert run_options(other) == ["W402"]


def test_nearest_pyproject_with_a_table_wins(tmp_path: Path) -> None:
    path = project(tmp_path, '[tool.specc]\nselect = ["W101"]', "pkg/specs/net.cnn")
    (tmp_path / "pkg" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 99\n")  # no table: skipped
    assert run_options(path) == ["W101"]
    (tmp_path / "pkg" / "specs" / "pyproject.toml").write_text('[tool.specc]\nselect = ["W102"]\n')
    assert run_options(path) == ["W102"]


def test_keys_of_other_tools_are_left_alone(tmp_path: Path) -> None:
    path = project(tmp_path, '[tool.specc]\nignore = ["W101"]\ntrain-defaults = "x"')
    assert run_options(path) == ["W102", "W402"]


def test_no_pyproject_means_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "net.cnn"
    path.write_text(SPEC)
    assert enabled_rules(path) == registry.DEFAULTS


@pytest.mark.parametrize(("table", "message"), [
    ('[tool.specc]\nselect = "W101"', "`select` must be a list of rule codes"),
    ('[tool.specc]\nignore = ["W1O1"]', "[tool.specc] `ignore`; did you mean `W101`?"),
    ('[tool.specc.per-file-ignores]\n"*.cnn" = "W1"', 'per-file-ignores "*.cnn" must be a list'),
    ('[tool.specc]\nselect = [', "cannot read"),
    ("[tool]\nspecc = 3", "[tool.specc] must be a table"),
    ('[tool.specc]\nextend_select = ["W302"]', "unknown key `extend_select`; did you mean `extend-select`?"),
])
def test_bad_tables_are_usage_errors(tmp_path: Path, table: str, message: str) -> None:
    path = project(tmp_path, table)
    with pytest.raises(SpeccError) as raised:
        enabled_rules(path)
    assert raised.value.status == 2 and message in raised.value.message
    assert str(tmp_path / "pyproject.toml") in raised.value.message


# --- through the command line -------------------------------------------------

def test_check_command_uses_flags_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project(tmp_path, '[tool.specc]\nignore = ["W402"]')
    assert main(["check", "-q", "--format", "json", str(path)]) == 0
    assert '"code": "W402"' not in capsys.readouterr().out
    assert main(["check", "-q", "--strict", "--select", "W402", str(path)]) == 1
    assert "warning[W402]" in capsys.readouterr().out
    assert main(["check", "-q", "--ignore", "W9", str(path)]) == 2
    assert "specc: error: unknown rule `W9` in --ignore" in capsys.readouterr().err


def test_inline_suppression_counts_lines_as_the_parser_does() -> None:
    # A form feed is not a line break for the parser; it must not shift the suppression.
    import specc

    text = "input 8x8\x0c\nconv 4 3 relu\nconv 4 3  # specc: ignore\nfc 2 softmax\n"
    assert [d.code for d in specc.check(text.replace("  # specc: ignore", "")).warnings] == ["W102"]
    assert not specc.check(text).warnings


def test_a_fifo_named_pyproject_toml_is_passed_over_not_read(tmp_path: Path) -> None:
    """Looking up [tool.specc] read every pyproject.toml above the spec: a FIFO of that name
    blocked `specc check` (and the language server) until a writer came."""
    import os
    import subprocess
    import sys

    os.mkfifo(tmp_path / "pyproject.toml")
    spec = tmp_path / "net.cnn"
    spec.write_text("input 8x8x1\nconv 2 3x3\nfc 2\n")
    done = subprocess.run([sys.executable, "-m", "specc", "check", "-q", str(spec)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
