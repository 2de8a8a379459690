"""The published report schema validates what `specc check --format json` prints."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from specc.cli import main
from specc.report.schema import report_schema

TESTS = Path(__file__).parent
FILES = sorted((TESTS.parent / "specs").glob("*.cnn")) + sorted((TESTS / "broken").glob("*.cnn"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_report_validates(path: Path, capsys) -> None:
    main(["check", "--format", "json", str(path)])
    jsonschema.validate(json.loads(capsys.readouterr().out), report_schema())


@pytest.mark.parametrize("path", FILES[:3], ids=lambda p: p.name)
def test_reports_with_the_memory_estimate_validate(path: Path, capsys) -> None:
    main(["check", "--format", "json", "--batch", "8", str(path)])
    report = json.loads(capsys.readouterr().out)
    assert report["training_memory"]["batch"] == 8
    jsonschema.validate(report, report_schema())
    report["training_memory"]["optimizer"] = "lbfgs"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, report_schema())


def test_the_schema_rejects_a_report_missing_a_contract_key(capsys) -> None:
    main(["check", "--format", "json", str(FILES[0])])
    report = json.loads(capsys.readouterr().out)
    del report["layers"][0]["sharing"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, report_schema())


def test_schema_command_prints_the_report_schema(capsys) -> None:
    assert main(["schema", "report"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "specc check report"
