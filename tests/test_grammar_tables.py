"""The parser tables kept in specc/syntax/grammar_tables.py are those of the grammar."""

from __future__ import annotations

from pathlib import Path

import lark
import pytest

from specc.syntax import grammar_tables
from specc.syntax import lalr as syntax
from specc.syntax.lalr import grammar_path, grammar_sha256

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(ROOT.glob("specs/*.cnn")) + sorted(ROOT.glob("tests/broken/*.cnn"))


def test_tables_were_generated_from_the_current_grammar() -> None:
    # (Lark numbers states in set order, so the file's text varies between runs: compare the source.)
    assert grammar_tables.GRAMMAR_SHA256 == grammar_sha256(grammar_path().read_text(encoding="utf-8")), \
        "the grammar changed: run python grammar/generate_tables.py"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_the_kept_tables_parse_like_a_parser_built_from_the_grammar(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n") + "\n"
    built = lark.Lark(grammar_path().read_text(), transformer=syntax._ToStatements(), **syntax.PARSER_OPTIONS)
    kept = lark.Lark._load_from_dict(grammar_tables.DATA, grammar_tables.MEMO, transformer=syntax._ToStatements())
    for line in text.split("\n"):  # line by line, so that broken lines compare too
        outcomes = []
        for parser in (built, kept):
            try:
                outcomes.append(parser.parse(line + "\n"))
            except lark.exceptions.UnexpectedInput as exc:
                outcomes.append((type(exc).__name__, exc.line, exc.column))
        assert outcomes[0] == outcomes[1], line


def test_a_changed_grammar_is_built_from_its_text(monkeypatch, tmp_path: Path) -> None:
    changed = tmp_path / "specc.lark"
    changed.write_text(grammar_path().read_text() + "\n// changed\n")
    monkeypatch.setattr(syntax, "grammar_path", lambda: changed)
    syntax.parser.cache_clear()
    try:
        assert len(syntax.parser().parse("input 8x8\nconv 4 3\n")) == 2
    finally:
        syntax.parser.cache_clear()
