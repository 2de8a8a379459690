"""Notebook display of an Analysis (print, repr, HTML, Markdown, to_dict) and the %%specc magic.

The oracle for every view is `specc check` itself: its text and JSON output
for the same spec.
"""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import specc
from specc.cli import main

SPECS = Path(__file__).parent.parent / "specs"
BROKEN = "input 8x8x1\ncovn 8 3x3\nconv 4 3 <b>relu</b>\nfc 10\n"


def cli(capsys, *args: str) -> str:
    main(["check", "--color", "never", *args])
    return capsys.readouterr().out.rstrip("\n")


@pytest.mark.parametrize("name", ["lenet5.cnn", "mobilenet-block.cnn"])
def test_print_shows_the_check_table_and_json_is_to_dict(capsys, name: str) -> None:
    analysis = specc.check(SPECS / name)
    assert str(analysis) == cli(capsys, str(SPECS / name))
    assert analysis.to_dict() == json.loads(cli(capsys, "--format", "json", str(SPECS / name)))


def test_repr_is_one_short_line() -> None:
    text = repr(specc.check(SPECS / "vgg16.cnn"))
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<Analysis vgg16 (") and "138,357,544 params" in text and "ok (0 errors" in text
    assert "1 layer," in repr(specc.check("input 4\nfc 2\n"))


class _Collect(HTMLParser):
    """Checks that tags nest and collects the text a browser would show."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag != "br":
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def shown(html: str) -> str:
    parser = _Collect()
    parser.feed(html)
    parser.close()
    assert parser.open == []
    return " ".join(parser.text)


def test_html_has_every_row_and_every_diagnostic_escaped() -> None:
    analysis = specc.check(BROKEN, "broken")
    text = shown(analysis._repr_html_())
    for report in analysis.layers:
        assert report.layer.name in text
    for d in analysis.diagnostics:
        assert d.code in text and d.message in text and (d.help or "") in text
    assert "conv 4 3 <b>relu</b>" in text  # the user's text shown as written, never as markup
    assert "failed (2 errors, 0 warnings)" in text


def test_html_of_a_clean_spec_has_its_figures() -> None:
    text = shown(specc.check(SPECS / "lenet5.cnn")._repr_html_())
    for figure in ("28x28x8", "470,400", "31,700.4x", "62,958", "ok (0 errors, 0 warnings)"):
        assert figure in text


def test_markdown_is_a_table_with_one_row_per_layer() -> None:
    analysis = specc.check(SPECS / "lenet5.cnn")
    rows = [line for line in analysis._repr_markdown_().splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(analysis.layers)
    assert rows[2].split("|")[1:-1] == [" conv1 ", " conv+relu ", " 28x28x8 ", " 6,272 ", " 608 ", " 470,400 ",
                                        " 75 ", " 2.44% ", " 31,700.4x ", " 5 "]
    broken = specc.check(BROKEN, "broken")._repr_markdown_()
    assert "**error[E101]**: unknown statement `covn`" in broken and "*help:* did you mean `conv`?" in broken


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "specc")
    return ipython


def test_cell_magic_checks_the_cell_and_stores_the_analysis(shell) -> None:
    result = shell.run_cell("%%specc net\ninput 32x32x3\nconv 8 5x5 relu\nfc 10 softmax\n")
    assert result.success
    analysis = result.result
    assert isinstance(analysis, specc.Analysis) and shell.user_ns["net"] is analysis
    assert analysis.model.name == "net" and analysis.totals.params == 608 + 62730
    assert str(analysis) == str(specc.check("input 32x32x3\nconv 8 5x5 relu\nfc 10 softmax\n", "net"))


def test_cell_magic_reports_errors_as_data_and_usage_as_a_message(shell, capsys) -> None:
    result = shell.run_cell("%%specc\nspecs/lenet5.cnn\n")  # one line: spec text, never a file name
    assert result.success and sorted(d.code for d in result.result.errors) == ["E002", "E110"]
    assert shell.run_cell("%%specc --select W999\ninput 4\nfc 2\n").result is None
    assert "W999" in capsys.readouterr().err


def test_check_imports_no_notebook_editor_or_training_package() -> None:
    code = ("import sys; from specc.cli import main; main(['check', '-q', sys.argv[1]]); import specc; "
            "str(specc.check(sys.argv[1])); specc.check(sys.argv[1])._repr_html_(); "
            "print(sorted(m for m in ('IPython', 'pygls', 'lsprotocol', 'pygments', 'tqdm', 'torch', 'pydantic', "
            "'numpy', 'specc.api', 'specc.integrations.ipython', 'specc.lsp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(SPECS / "lenet5.cnn")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_users_mistake_shows_in_a_notebook_as_its_message_not_a_traceback(shell, capsys) -> None:
    result = shell.run_cell("import specc\nspecc.compile('input 8x8x1\\ncovn 4 3x3\\n')")
    assert isinstance(result.error_in_exec, specc.SpecCheckError)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "SpecCheckError: <string> has errors; nothing was compiled" in text
    assert "<string>:2:1: error[E101] unknown statement `covn`" in text
    assert "Traceback" not in text and "File " not in text


def test_compile_takes_an_analysis_as_build_does() -> None:
    analysis = specc.check(SPECS / "lenet5.cnn")
    assert specc.compile(analysis) == specc.compile(SPECS / "lenet5.cnn")
    with pytest.raises(specc.SpecCheckError, match="nothing was compiled"):
        specc.compile(specc.check(BROKEN, "broken"))
