"""The fast JSON report is json.dumps(indent=2) byte for byte (specc.report.jsontext, issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specc.escape import json_safe
from specc.pipeline import analyse_text
from specc.report import jsonfmt, jsontext, render

TESTS = Path(__file__).parent
FILES = sorted((TESTS.parent / "specs").glob("*.cnn")) + sorted((TESTS / "broken").glob("*.cnn"))


def reference(value: object) -> str:
    """What the report printed before issue 16: the pure-Python encoder's layout."""
    return json_safe(json.dumps(value, indent=2, ensure_ascii=False))


def analyse(path: Path):
    return analyse_text(path.read_text(encoding="utf-8", errors="replace"), str(path))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_report_of_every_spec_is_json_dumps_indent_2(path: Path) -> None:
    a = analyse(path)
    assert render([a], "json") == reference(a.to_dict())
    assert render([a], "json", batch=4) == reference(jsonfmt.analysis_json(a, 4))


def test_several_files_and_none() -> None:
    analyses = [analyse(path) for path in FILES[:4]]
    assert render(analyses, "json") == reference([a.to_dict() for a in analyses])
    assert render([], "json") == reference([])


def test_more_layers_than_a_chunk_and_odd_names() -> None:
    body = "\n".join(f"c{i}: conv {i % 7 + 1} 3x3 padding=same relu" if i % 3 else "batchnorm"
                     for i in range(2 * jsonfmt.CHUNK + 17))
    a = analyse_text(f"model m\ninput 8x8x3\n{body}\nbad: conv 3 \x85\u202e\"é\nfc 10\n", "dir/\x1b[31mx%s\x00.cnn")
    assert len(a.layers) > 2 * jsonfmt.CHUNK and a.diagnostics
    assert render([a], "json") == reference(a.to_dict())


ODD = [None, True, False, 0, -7, 10**30, 0.1, 1e-7, 2.5e20, float("nan"), float("inf"), float("-inf"),
       "", "\x00", "a\x00b", "\x1b[0m", "\u0085\u202e\u2066", 'q"\\', "é中🙂", "%s %%", "\n\r\t"]


def test_scalars_are_the_c_encoders_texts() -> None:
    assert jsontext.scalars(ODD) == [reference(value) for value in ODD]
    with pytest.raises(ValueError):
        jsontext.scalars([1, [2, 3]])


@pytest.mark.parametrize("level", [0, 1, 3])
def test_containers_are_laid_out_as_json_dumps_does(level: int) -> None:
    lists = [None, [], [1], ODD, (2, None, "x")]
    nested = [[reference(item) for item in values] if values is not None else None for values in lists]
    for values, text in zip(lists, jsontext.arrays(lists, level)):
        assert text == jsontext.dumps(values, level)
    assert jsontext.obj({}, level) == "{}"
    assert jsontext.dumps(nested, level) == reference(nested).replace("\n", "\n" + "  " * level)
    members = {"a": "1", "%s": "[]", "\x85": '"x"'}
    assert jsontext.obj(members, level) == jsontext.dumps({"a": 1, "%s": [], "\x85": "x"}, level)
    tail = f',\n{"  " * (level + 1)}"z": 2'
    row = jsontext.template(list(members), level, tails=2) % (*members.values(), "", tail)
    assert row == jsontext.dumps({"a": 1, "%s": [], "\x85": "x", "z": 2}, level)
