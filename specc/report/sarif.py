"""SARIF 2.1.0 output, for GitHub code scanning and other SARIF viewers.

One run for all the files checked: the tool's driver lists every lint rule
(with its documentation) and every error code that appears, and each
diagnostic becomes a result with a region. Columns are code points and
``endColumn`` is exclusive, as SARIF defines it and as specc's spans are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath
from urllib.parse import quote

from ..analysis import Analysis
from ..diagnostics import CODES, Diagnostic
from ..escape import json_safe
from ..lint.registry import RULES
from ..lint.suppress import UNKNOWN_CODE, UNKNOWN_TITLE
from ..version import __version__

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# TODO(lead): the project's home page once it has one; PyPI's page is the stable fallback.
INFORMATION_URI = "https://pypi.org/project/specc/"


def uri(path: str) -> str:
    """A URI reference for a spec's path: relative paths stay relative (to the checkout)."""
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return quote(pure.as_posix())


def _lint_rule(code: str) -> dict:
    rule = RULES[code]
    return {
        "id": code, "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.section("What it does").split())},
        "help": {"text": rule.doc.strip(), "markdown": rule.doc.strip()},
        "defaultConfiguration": {"level": "warning", "enabled": rule.default},
        "properties": {"tags": ["lint"]},
    }


def _error_rule(code: str) -> dict:
    title = CODES.get(code) or (UNKNOWN_TITLE if code == UNKNOWN_CODE else "error")
    return {
        "id": code, "name": code.lower(),
        "shortDescription": {"text": title}, "fullDescription": {"text": title},
        "defaultConfiguration": {"level": "warning" if code.startswith("W") else "error"},
        "properties": {"tags": ["warning" if code.startswith("W") else "error"]},
    }


def _result(d: Diagnostic, path: str, index: dict[str, int]) -> dict:
    text = f"{d.message}\nhelp: {d.help}" if d.help else d.message
    result = {
        "ruleId": d.code, "ruleIndex": index[d.code], "level": "error" if d.severity == "error" else "warning",
        "message": {"text": text},
        "locations": [_location(d.span, path)],
    }
    if d.notes:  # a line inside a block: its call sites
        result["relatedLocations"] = [{**_location(n.span, path), "message": {"text": n.message}} for n in d.notes]
    return result


def _location(span, path: str) -> dict:
    return {"physicalLocation": {
        "artifactLocation": {"uri": uri(path)},
        "region": {"startLine": span.line, "startColumn": span.column,
                   "endLine": span.end_line, "endColumn": span.end_column},
    }}


def sarif(analyses: Sequence[Analysis]) -> dict:
    errors = sorted({d.code for a in analyses for d in a.diagnostics if d.code not in RULES})
    rules = [_lint_rule(code) for code in RULES] + [_error_rule(code) for code in errors]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [_result(d, a.path, index) for a in analyses for d in a.diagnostics]
    driver = {"name": "specc", "version": __version__, "semanticVersion": __version__,
              "informationUri": INFORMATION_URI, "rules": rules}
    return {"$schema": SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": results}]}


def render(analyses: Sequence[Analysis], **_: object) -> str:
    return json_safe(json.dumps(sarif(analyses), indent=2, ensure_ascii=False))  # no raw terminal controls
