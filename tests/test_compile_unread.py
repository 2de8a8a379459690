"""A layer nothing reads (lint W104), and what only such layers read, is built but not computed:
its submodule is there (the module's parameters are the report's), forward never calls it, and
the generated code says why. torch is the oracle: forward hooks show what runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import specc
from specc.codegen import generate
from specc.codegen.graph import idle_layers, idle_parameters
from specc.exporting import ExportOptions, export

FLAT = """input 28x28x3
b1:     conv 8 1x1 relu
        conv 8 3x3 p=same relu from=input
        conv 8 1x1 relu
side:   conv 4 1x1 from=input
        relu
        globalavgpool
        fc 10 softmax
"""

BLOCKS = """input 16x16x3
block b(n) {
s:      conv n 3x3 p=same relu
        conv 2 1x1 from=in
        conv n 1x1 from=s
}
block c() {
        relu
}
x1:     b 4
dead:   b 4 from=input
        c from=x1.s
reps:   b 4 from=x1 repeat=3
        globalavgpool
        fc 3
"""

# A repeated call of which only a value inside its first copy is read: the later copies are idle.
COPIES = """input 6x6x2
t:      p repeat=3
        concat input t.0.main
        globalavgpool
        fc 3
block p() {
        conv 2 3x3 p=same bias=false
main:   relu
        add in
}
"""

# What forward must not call: attribute paths of the built module.
IDLE = {FLAT: {"b1", "conv1", "conv2"}, BLOCKS: {"dead", "c1", "x1.conv1", "reps.0.conv1", "reps.1.conv1",
                                                 "reps.2.conv1"},
        COPIES: {"t.1", "t.2"}}


def called(module: torch.nn.Module, x: torch.Tensor) -> set[str]:
    """The submodules (dotted paths) that one forward pass calls."""
    seen: set[str] = set()
    hooks = [m.register_forward_hook(lambda *_, name=name: seen.add(name))
             for name, m in module.named_modules() if name]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


@pytest.mark.parametrize("text", [FLAT, BLOCKS, COPIES], ids=["flat", "blocks", "copies"])
def test_forward_never_calls_what_nothing_reads_yet_the_parameters_are_the_reports(text: str) -> None:
    analysis = specc.check(text, "net.cnn")
    assert analysis.ok and "W104" in {d.code for d in analysis.diagnostics}
    module = specc.build(analysis)
    x = torch.randn(2, *module.input_shape)
    ran = called(module, x)
    idle = {name for name, _ in module.named_modules() if name and any(
        name == path or name.startswith(path + ".") for path in IDLE[text])}
    assert ran & idle == set()
    containers = {name for name, m in module.named_modules() if isinstance(m, torch.nn.Sequential)}
    # everything else runs (a repeat's Sequential is a container: its copies may be called one by one)
    assert (ran | idle) - containers == {name for name, _ in module.named_modules() if name} - containers
    assert sum(p.numel() for p in module.parameters()) == analysis.totals.params
    assert tuple(module(x).shape[1:]) == (analysis.output[-1],)


def test_the_generated_code_says_why_a_layer_is_not_computed() -> None:
    source = generate(specc.check(FLAT, "net.cnn"))
    assert "# line 2: b1: conv 8 1x1 relu\n        # b1 is read by nothing (W104): built, not computed" in source
    assert "# conv1 is read only by layers that are not computed: built, not computed" in source
    assert "self.b1(" not in source and "self.b1 = nn.Conv2d(3, 8, kernel_size=1)" in source


def test_a_value_only_an_uncomputed_layer_reads_is_not_returned_by_its_block() -> None:
    source = generate(specc.check(BLOCKS, "net.cnn"))
    assert "x1 = self.x1(x_input)" in source  # not `x1, x1_s = ...`: `c` reads x1.s, and nothing reads `c`
    assert "-> tuple[" not in source


def test_a_repeated_call_stops_at_the_last_copy_read() -> None:
    source = generate(specc.check(COPIES, "net.cnn"))
    assert "x, t_0_main = self.t[0](x_input)" in source
    assert "# t[1:] is read by nothing (W104): built, not computed" in source
    assert "self.t[1](" not in source and "self.t[2](" not in source


def test_idle_parameters_count_what_no_forward_uses() -> None:
    analysis = specc.check(FLAT, "net.cnn")
    assert idle_layers(analysis.layers) == ["b1", "conv1", "conv2"]
    assert idle_parameters(analysis.layers) == 32 + 224 + 72
    lenet = specc.check(Path(__file__).resolve().parent.parent / "specs" / "lenet5.cnn")
    assert idle_parameters(lenet.layers) == 0


def test_gradients_reach_every_computed_parameter_and_none_the_idle_ones() -> None:
    analysis = specc.check(FLAT, "net.cnn")
    module = specc.build(analysis)
    module.logits(torch.randn(3, 3, 28, 28)).sum().backward()
    idle = {name for name, p in module.named_parameters() if p.grad is None}
    assert idle == {"b1.weight", "b1.bias", "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"}


def test_a_spec_with_unread_branches_exports_and_verifies(tmp_path: Path) -> None:
    spec = tmp_path / "net.cnn"
    spec.write_text(BLOCKS, encoding="utf-8")
    result = export(spec, tmp_path / "net.onnx", ExportOptions(seed=3))
    assert result.path.is_file() and all(diff <= 1e-4 for diff in result.max_abs_diff.values())
