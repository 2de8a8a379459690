"""The language server's answers as pure functions (no client, no process):
the text scan, hints for repeated lines, and no request ever raising."""

from __future__ import annotations

from pathlib import Path

import pytest

import specc
from specc.lsp import complete, features, scan

ROOT = Path(__file__).resolve().parent.parent
BLOCK = """block down(n) {   # a comment with block fake(x) { and label: inside
skip:   conv n 3x3
        maxpool 2x2
}
block up(n, f=2) {
        conv n f
        concat skip
}
skip:   conv 8 3x3
"""


def test_blocks_their_params_and_scopes() -> None:
    lines = BLOCK.splitlines()
    down, up = scan.blocks(lines)
    assert (down.place, down.params, down.first, down.last) == (scan.Place("down", 0, 6, 10), ("n",), 0, 3)
    assert (up.params, up.first, up.last) == (("n", "f"), 4, 7)
    assert [p.name for p in scan.labels(lines)] == ["skip", "skip"]
    assert scan.visible(lines, 6) == []  # `skip` of `down` is not visible inside `up`
    assert [p.line for p in scan.visible(lines, 9)] == [8]


def test_an_unclosed_block_runs_to_the_end_of_the_file() -> None:
    (block,) = scan.blocks(["block b(x) {", "  conv x 3", "fc 2"])
    assert block.last == 2 and block.params == ("x",)


def test_dotted_words_and_the_part_under_the_cursor() -> None:
    word = scan.word_at("        add d1.skip  # d2", 14)
    assert word == scan.Place("d1.skip", 0, 12, 19)
    assert scan.part_at(word, 13) == "d1" and scan.part_at(word, 16) == "d1.skip"
    assert scan.word_at("        add d1.skip  # d2", 23) is None  # inside the comment


def test_a_line_of_several_layers_hints_its_last_output_and_total_params() -> None:
    analysis = specc.check("input 8x8x1\nconv 4 3x3\n")
    (report,) = analysis.layers
    assert features.hint_label([report, report]) == "→ 6x6x4 · 80 params (2 layers)"
    assert features.hint_label([report]) == "→ 6x6x4 · 40 params"


def test_a_help_goes_into_the_message_when_the_client_cannot_show_related_information() -> None:
    (found,) = features.diagnostics(specc.check("input 8x8x1\ncovn 8 3x3\n"), "file:///x.cnn", related=False)
    assert found.message == "unknown statement `covn`\nhelp: did you mean `conv`?" and not found.related_information


def test_option_values_come_from_the_checkers() -> None:
    analysis = specc.check("input 8x8x1\nconv 4 3 padding=\ntrain optimizer=\n")
    assert [i.label for i in complete.complete(analysis, 1, 17)] == ["same", "valid"]
    assert [i.label for i in complete.complete(analysis, 2, 16)] == ["sgd", "momentum", "rmsprop", "adam"]


TEXTS = [BLOCK, *(p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "specs").glob("*.cnn"))),
         *(p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "tests" / "broken").glob("*.cnn")))]


@pytest.mark.parametrize("text", TEXTS)
def test_no_request_raises_anywhere_in_any_spec(text: str) -> None:
    analysis = specc.check(text)
    features.inlay_hints(analysis)
    features.diagnostics(analysis, "file:///x.cnn")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for line, content in enumerate(lines + [""]):
        for character in range(0, len(content) + 2, 3):
            features.hover(analysis, line)
            features.definition(analysis, line, character)
            complete.complete(analysis, line, character)


def test_definition_of_a_default_name_and_of_input() -> None:
    analysis = specc.check("input 8x8x1\nconv 4 3x3\nadd conv1 input\n")  # `add` may be unknown yet: the text counts
    assert features.definition(analysis, 2, 6) == features.to_range(analysis.layers[0].layer.span)
    assert features.definition(analysis, 2, 12) == features.to_range(analysis.model.input_span)
    assert features.definition(analysis, 2, 1) is None


def test_a_block_call_line_stands_for_the_layers_of_its_instances() -> None:
    # The graph core's layers carry `notes`, their block's call sites; stand-ins play them here.
    from types import SimpleNamespace

    from specc.diagnostics import Span

    analysis = specc.check("input 8x8x1\nconv 4 3x3\nconv 6 3x3\nfc 10\n")
    call = (SimpleNamespace(message="called here", span=Span.at(5)),)
    layers = tuple(r._replace(layer=SimpleNamespace(name=r.layer.name, span=r.layer.span, notes=call if i < 2 else (),
                                                         shares=None))
                   for i, r in enumerate(analysis.layers))
    analysis = analysis._replace(layers=layers, source=analysis.source + "d1: twice\n")
    hints = {h.position.line: h.label for h in features.inlay_hints(analysis)}
    assert hints[4] == "→ 4x4x6 · 262 params (2 layers)"  # 40 + 222: the two layers of the call
    assert hints[1] == "→ 6x6x4 · 40 params"
    text = features.hover(analysis, 4).contents.value
    assert "**2 layers**: conv1 … conv2" in text and "| input | 8x8x1 |" in text and "| output | 4x4x6 |" in text


def test_completion_offers_if_inside_a_block_body_with_its_parameters() -> None:
    from specc.lsp import complete

    source = "input 8x8x3\nblock b(res=true, n=3) {\n  conv 3 3x3 p=same \n  add in \n  add in if=\n}\nb\nconv 4 3x3 \n"
    analysis = specc.check(source)
    labels = lambda line, text: [i.label for i in complete.complete(analysis, line, len(text))]  # noqa: E731
    assert "if=" in labels(2, "  conv 3 3x3 p=same ") and "if=" in labels(3, "  add in ")
    assert labels(4, "  add in if=") == ["res", "n"]
    assert "if=" not in labels(7, "conv 4 3x3 ")  # the top level has no parameters to test
