"""Highlighting: the Pygments lexer, the TextMate grammar and the VS Code extension folder.

The keyword lists must cover every statement specc.lower.statements knows, so a new
statement cannot ship unhighlighted: the TextMate grammar's are written by
editors/vscode/generate.py, the lexer's read at import. Python's `re` stands in
for Oniguruma (the grammar keeps to the syntax both share).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import runpy
import tomllib
from pathlib import Path

import pytest
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation

from specc.integrations.highlight import CnnLexer
from specc.kinds import ACTIVATION_ALIASES, ACTIVATIONS
from specc.lower.statements import KEYWORD_ALIASES, STATEMENTS

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = json.loads((VSCODE / "syntaxes" / "cnn.tmLanguage.json").read_text(encoding="utf-8"))
# The graph syntax of ../shared/spec-graphs.md, which highlighting must already read.
GRAPH = """model resnet_stage
input 56x56x64
block identity_block(f1, f2, f3, f=3) {   # positional params, then defaults
        conv f1 1x1 bias=false
main:   batchnorm
        conv in.c*6 1x1 s=s from=in
        add main
}
stage2: identity_block 64 64 256 repeat=2
        concat stage2.main d1.skip
        fc 10 softmax
"""
EXAMPLES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "specs").glob("*.cnn"))} | {"graph": GRAPH}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_lexes_without_error_tokens(name: str) -> None:
    text = EXAMPLES[name]
    tokens = list(CnnLexer().get_tokens(text))
    assert [t for t in tokens if t[0] in Error] == []
    assert "".join(value for _, value in tokens) == (text if text.endswith("\n") else text + "\n")


def test_the_lexer_tells_the_parts_of_a_line_apart() -> None:
    tokens = [(t, v) for t, v in CnnLexer().get_tokens("conv1: conv 8 5x5 s=2 relu  # note\n") if v.strip()]
    assert tokens == [(Name.Label, "conv1"), (Punctuation, ":"), (Keyword, "conv"), (Number.Integer, "8"),
                      (Number, "5x5"), (Name.Attribute, "s"), (Operator, "="), (Number.Integer, "2"),
                      (Name.Builtin, "relu"), (Comment.Single, "# note")]
    assert [v for t, v in CnnLexer().get_tokens("covn 8\n") if t in Error] == []  # a typo is a call, not noise


def test_the_entry_point_in_pyproject_names_the_lexer() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    value = project["entry-points"]["pygments.lexers"]["cnn"]
    assert importlib.metadata.EntryPoint("cnn", value, "pygments.lexers").load() is CnnLexer
    assert "cnn" in CnnLexer.aliases and "*.cnn" in CnnLexer.filenames


def _patterns(node: object):
    """Every regex in the grammar, with its rule's name."""
    if isinstance(node, dict):
        for key in ("match", "begin", "end"):
            if key in node:
                yield node.get("name", key), node[key]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_the_textmate_regexes_compile() -> None:
    patterns = list(_patterns(GRAMMAR))
    assert len(patterns) >= 10
    for _, pattern in patterns:
        re.compile(pattern)


def test_every_statement_keyword_is_highlighted_as_a_word() -> None:
    repository = GRAMMAR["repository"]
    words = [re.compile(repository[key]["match"]) for key in ("declaration", "layer", "activation")]
    for keyword in [*STATEMENTS, *KEYWORD_ALIASES]:
        assert any(w.fullmatch(keyword) for w in words), keyword
        assert not any(w.search(f"{keyword}x") for w in words), keyword  # whole words only


def test_the_textmate_keywords_are_generated_from_the_statement_table() -> None:
    generate = runpy.run_path(str(VSCODE / "generate.py"))["grammar"]
    text = (VSCODE / "syntaxes" / "cnn.tmLanguage.json").read_text(encoding="utf-8")
    assert generate(text) == text, "run `python editors/vscode/generate.py`"


def test_the_lexer_knows_every_keyword_and_activation() -> None:
    for keyword in [*STATEMENTS, *KEYWORD_ALIASES]:
        assert [t for t, _ in CnnLexer().get_tokens(f"{keyword}\n")][0] in Keyword, keyword
    for function in [*ACTIVATIONS, *ACTIVATION_ALIASES]:
        assert (Name.Builtin, function) in list(CnnLexer().get_tokens(f"conv 8 3 {function}\n")), function


def test_the_textmate_rules_match_what_the_parser_reads() -> None:
    repository = GRAMMAR["repository"]
    numbers = {rule["name"]: re.compile(rule["match"]) for rule in repository["number"]["patterns"]}
    assert numbers["constant.numeric.dimensions.cnn"].fullmatch("32x32x3")
    assert numbers["constant.numeric.float.cnn"].fullmatch("1e-3")
    assert re.match(repository["label"]["match"], "conv1:   conv 8 5x5").group(1) == "conv1"
    assert re.match(repository["block-definition"]["match"], "block identity_block(f1)").group(2) == "identity_block"
    assert re.search(repository["comment"]["match"], "fc 10  # relu").group() == "# relu"


def test_the_vscode_extension_declares_the_language_grammar_and_server() -> None:
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = package["contributes"]["languages"]
    assert language["id"] == "cnn" and language["extensions"] == [".cnn"]
    (grammar,) = package["contributes"]["grammars"]
    assert grammar["scopeName"] == GRAMMAR["scopeName"] and (VSCODE / grammar["path"]).is_file()
    configuration = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert configuration["comments"]["lineComment"] == "#" and ["{", "}"] in configuration["brackets"]
    assert (VSCODE / package["main"]).is_file() and "vscode-languageclient" in package["dependencies"]
    assert "server" in (VSCODE / package["main"]).read_text(encoding="utf-8")
