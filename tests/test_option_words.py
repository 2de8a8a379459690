"""An option's own word is never a block parameter (docs/language.md, "Blocks"): in a body, `over=c`,
`padding=same`, `round=up`, `mode=nearest` or `bias=true` keep their meaning even where a parameter has the same
name (a block of MobileNetV3 names its output channels `c`); W106 says so when the parameter is read nowhere else."""

from __future__ import annotations

import pytest
from harness import checked

import specc


def test_over_c_is_the_channels_in_a_block_whose_parameter_is_c() -> None:
    analysis = checked("input 8x8x16\nblock b(c) {\n    conv c 1x1\n    layernorm over=c\n}\nb 32\n")
    conv, norm = (r for r in analysis.layers)
    assert conv.output == (8, 8, 32) and norm.layer.over == "c" and norm.params == 64
    assert not analysis.diagnostics
    assert "LayerNorm2d(32" in specc.compile(analysis)


def test_a_parameter_of_another_name_still_passes_a_word() -> None:
    analysis = checked("input 8x8x16\nblock b(axes) {\n    layernorm over=axes\n}\nb chw\nb axes=c\n")
    assert [r.layer.over for r in analysis.layers] == ["chw", "c"]


@pytest.mark.parametrize(("param", "body", "output"), [
    ("same", "conv same 3x3 padding=same", (9, 9, 6)),  # 6 filters, padded: the word `same`
    ("up", "maxpool 2x2 round=up\n    conv up 1x1", (5, 5, 6)),  # 9 -> 5 rounding up; 6 filters
    ("nearest", "upsample 2 mode=nearest\n    conv nearest 1x1", (18, 18, 6)),
    ("true", "conv true 1x1 bias=true", (9, 9, 6)),
])
def test_every_word_valued_option_keeps_its_word(param: str, body: str, output: tuple[int, ...]) -> None:
    analysis = checked(f"input 9x9x3\nblock b({param}) {{\n    {body}\n}}\nb 6\n")
    assert analysis.ok and analysis.layers[-1].output == output
    assert "W106" not in [d.code for d in analysis.diagnostics]


def test_a_parameter_only_an_options_word_spells_is_w106_with_the_reason() -> None:
    analysis = specc.check("input 8x8x16\nblock b(c) {\n    layernorm over=c\n}\nb chw\n")
    (found,) = [d for d in analysis.diagnostics if d.code == "W106"]
    assert (found.span.line, found.span.column) == (2, 9)
    assert found.help is not None and found.help.startswith("`over=c` (line 3) is the option's own word `c`")
    assert analysis.layers[0].layer.over == "c"  # the word: `b chw` changes nothing


def test_an_unread_parameter_keeps_the_plain_w106_help() -> None:
    (found,) = specc.check("input 8x8x16\nblock b(c) {\n    relu\n}\nb 3\n").diagnostics
    assert found.code == "W106" and found.help == "use `c` in the body, or remove it from the definition and the calls"
