"""`--format sarif` and `--format github`: the fields code scanning and the
Actions runner need, and the runner's escaping rules."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import specc
from specc.cli import main
from specc.diagnostics import Span, warning
from specc.lint import registry
from specc.report import FORMATS
from specc.report.github import command, escape_data, escape_property
from specc.report.sarif import sarif, uri

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rules"

_TEXT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_POSITIVE = {"type": "integer", "minimum": 1}
# The part of the SARIF 2.1.0 schema (and of GitHub's upload requirements) that this output must meet.
SARIF_SUBSET = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name", "version", "informationUri", "rules"],
                    "properties": {
                        "informationUri": {"type": "string", "pattern": "^https://"},
                        "rules": {"type": "array", "items": {
                            "type": "object", "required": ["id", "name", "shortDescription", "fullDescription"],
                            "properties": {"id": {"type": "string"}, "shortDescription": _TEXT,
                                           "fullDescription": _TEXT, "help": _TEXT}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["ruleId", "level", "message", "locations"],
                    "properties": {
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": _TEXT,
                        "locations": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["physicalLocation"], "properties": {
                                "physicalLocation": {
                                    "type": "object", "required": ["artifactLocation", "region"], "properties": {
                                        "artifactLocation": {"type": "object", "required": ["uri"]},
                                        "region": {"type": "object",
                                                   "required": ["startLine", "startColumn", "endLine", "endColumn"],
                                                   "properties": {k: _POSITIVE for k in (
                                                       "startLine", "startColumn", "endLine", "endColumn")}}}}}}}}}},
            }}},
    },
}


def analyse(*names: str) -> list[specc.Analysis]:
    return [specc.check(FIXTURES / name) for name in names]


def test_formats_are_registered() -> None:
    assert {"text", "json", "sarif", "github"} <= set(FORMATS)


def test_sarif_meets_the_schema_and_lists_every_rule() -> None:
    broken = specc.check("input 4x4x1\nconv 2 5x5\n", "broken.cnn")
    document = sarif([*analyse("W402.cnn"), broken])
    jsonschema.validate(document, SARIF_SUBSET)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [*registry.RULES, "E201"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [("W402", "warning")] * 3 + [("E201", "error")]


def test_sarif_region_is_the_span_with_an_exclusive_end() -> None:
    (first, *_) = sarif(analyse("W402.cnn"))["runs"][0]["results"]
    location = first["locations"][0]["physicalLocation"]
    assert location["region"] == {"startLine": 4, "startColumn": 9, "endLine": 4, "endColumn": 10}
    assert location["artifactLocation"]["uri"].endswith("tests/fixtures/rules/W402.cnn")
    assert first["message"]["text"] == ("dropout1 has rate 0: it does nothing\n"
                                        "help: remove the line, or give a rate such as 0.5")


def test_sarif_rule_documentation_comes_from_the_docstring() -> None:
    rules = sarif([])["runs"][0]["tool"]["driver"]["rules"]
    w101 = rules[0]
    assert w101["shortDescription"]["text"] == registry.RULES["W101"].summary
    assert w101["fullDescription"]["text"].startswith("Flags an `fc` layer")
    assert "## Why is this bad?" in w101["help"]["markdown"]
    assert {r["id"]: r["defaultConfiguration"]["enabled"] for r in rules} == {
        code: rule.default for code, rule in registry.RULES.items()}


@pytest.mark.parametrize(("path", "expected"), [
    ("specs/net.cnn", "specs/net.cnn"),
    ("my specs/a#b.cnn", "my%20specs/a%23b.cnn"),
    ("/abs/net.cnn", "file:///abs/net.cnn"),
    ("<stdin>", "%3Cstdin%3E"),
])
def test_sarif_uris(path: str, expected: str) -> None:
    assert uri(path) == expected


def test_github_escaping() -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"


def test_github_command_for_a_warning_with_help() -> None:
    d = warning("W101", "50% of it: bad, really", Span(3, 5, 3, 9), "do this\nthen that")
    line = command(d, "dir,1/a:b.cnn")
    assert line == ("::warning file=dir%2C1/a%3Ab.cnn,line=3,col=5,endLine=3,endColumn=9,title=W101::"
                    "50%25 of it: bad, really%0Ahelp: do this%0Athen that")


def test_github_command_drops_columns_across_lines() -> None:
    d = warning("W101", "m", Span(3, 5, 4, 2))
    assert command(d, "a.cnn") == "::warning file=a.cnn,line=3,endLine=4,title=W101::m"


def test_check_prints_sarif_and_github(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "W402.cnn")
    assert main(["check", "--format", "sarif", path]) == 0
    jsonschema.validate(json.loads(capsys.readouterr().out), SARIF_SUBSET)
    assert main(["check", "--format", "github", "--strict", path]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"::warning file={path},line=") for line in lines)
