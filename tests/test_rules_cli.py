"""`specc rules`, `specc rule CODE`, the docs generated from the rules, and the
pre-commit hook definition."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from specc.cli import main
from specc.cli.commands.rules import markdown
from specc.lint import registry

ROOT = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_rules_lists_code_name_default_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "rules")
    assert status == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if re.match(r"W\d{3} ", line)}
    assert list(rows) == list(registry.RULES)
    for code, rule in registry.RULES.items():
        assert rows[code][1:3] == [rule.name, "on" if rule.default else "off"]
        assert out.count(rule.summary) == 1


def test_rules_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "rules", "--format", "json")
    listed = json.loads(out)
    assert status == 0 and [r["code"] for r in listed] == list(registry.RULES)
    assert listed[0] == {"code": "W101", "name": "dense-on-large-map", "default": True,
                         "summary": registry.RULES["W101"].summary}


@pytest.mark.parametrize("word", ["W101", "w101", "dense-on-large-map"])
def test_rule_prints_its_documentation(capsys: pytest.CaptureFixture[str], word: str) -> None:
    status, out, _ = run(capsys, "rule", word)
    assert status == 0
    assert out.startswith("W101 dense-on-large-map (on by default)\n")
    assert "## What it does" in out and "## Use instead" in out


def test_opt_in_rule_says_how_to_enable_it(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "rule", "W303")
    assert out.startswith("W303 output-without-softmax (off by default: enable it with --select W303)")


def test_rule_explains_an_error_code(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "rule", "E201")
    assert status == 0 and out.startswith("E201: the layer shrinks the map to nothing")
    assert "cannot be selected, ignored or silenced" in out


@pytest.mark.parametrize(("word", "hint"), [
    ("W1O1", "did you mean `W101`?"),
    ("E2O1", "did you mean `E201`?"),
    ("dense-on-large", "did you mean `dense-on-large-map`?"),
    ("zzz", "`specc rules` lists them"),
])
def test_unknown_rule_is_a_usage_error_with_a_suggestion(capsys: pytest.CaptureFixture[str], word: str,
                                                         hint: str) -> None:
    status, out, err = run(capsys, "rule", word)
    assert status == 2 and out == ""
    assert err == f"specc: error: unknown rule `{word}`; {hint}\n"


def test_docs_embed_the_generated_rule_reference() -> None:
    text = (ROOT / "docs" / "rules.md").read_text()
    begin, end = "<!-- rules:begin -->\n", "<!-- rules:end -->"
    assert text[text.index(begin) + len(begin):text.index(end)] == markdown(), \
        "regenerate docs/rules.md's rule reference with `specc rules --format markdown`"


def test_pre_commit_hook_runs_check_on_cnn_files() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    fields = dict(re.findall(r"^\s*-?\s*(id|entry|language|files):\s*(.+)$", text, re.MULTILINE))
    assert fields == {"id": "specc-check", "entry": "specc check", "language": "python", "files": r"\.cnn$"}
    assert re.search(fields["files"], "specs/lenet5.cnn") and not re.search(fields["files"], "a.cnn.bak")
