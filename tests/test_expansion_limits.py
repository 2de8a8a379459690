"""The limits of expansion (specc.lower.budget) and the block rules around them: the budget of
100,000 expanded layers and block instances (E118), counted before anything is made; calls
nested at most 32 deep (E119), and 32 deep works through every command; a second `repeat=`
(E107); parameters that would shadow `in`, `from=`, `repeat=` or a body label (E007);
defaults read in the block's scope (`n=in.c*2`); `x.q` on a repeated instance; long numbers
in messages. The torch module built from the spec is the oracle for shapes."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from harness import assert_diagnostics, checked

import specc
from specc.cli import main
from specc.lower.budget import MAX_DEPTH, MAX_LAYERS
from specc.lower.expand import expand
from specc.syntax import parse

ROOT = Path(__file__).resolve().parent.parent
# Audit N1: 10^18 layers in 96 bytes.
EXP1 = "input 8x8x3\nblock a() {\n relu repeat=1000000\n}\nblock b() {\n a repeat=1000000\n}\nb repeat=1000000\n"


def doubling(blocks: int) -> str:
    """Each block calls the one before twice: 2^blocks layers in a kilobyte, no `repeat=` at all."""
    lines = ["input 8x8x3", "block b0() {", " relu", "}"]
    for i in range(1, blocks + 1):
        lines += [f"block b{i}() {{", f" b{i - 1}", f" b{i - 1}", "}"]
    return "\n".join([*lines, f"b{blocks}"]) + "\n"


def nested(depth: int) -> str:
    """``depth`` blocks, each calling the one before: the top-level call nests ``depth`` deep."""
    lines = ["input 8x8x3", "block b0() {", "    conv 4 3x3 p=same relu", "}"]
    for i in range(1, depth):
        lines += [f"block b{i}() {{", f"    b{i - 1}", "}"]
    return "\n".join([*lines, f"b{depth - 1}", "flatten", "fc 2 softmax"]) + "\n"


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))


@pytest.mark.parametrize("text, where, said, notes", [
    (EXP1, (8, 10), "`b repeat=1000000` would make 10^18 layers", [6, 3]),
    (doubling(40), (165, 1), "`b40` would make about 4.3 x 10^9 block instances", [162, 158, 154, 150]),
], ids=["three-nested-repeats", "forty-doubling-blocks"])
def test_specs_of_astronomical_size_are_refused_at_the_outermost_call(text, where, said, notes, tmp_path) -> None:
    """Audit N1: these ran for a minute until memory ran out. They are checked in a process limited
    to 1.5 GB of address space, so that a regression fails (MemoryError) instead of taking the
    machine with it. The notes follow the largest statement down, call by call (the 40 blocks also
    nest past 32, so only the calls down to that depth count)."""
    spec = tmp_path / "big.cnn"
    spec.write_text(text)
    done = subprocess.run([sys.executable, "-m", "specc", "check", "--format", "json", str(spec)],
                          capture_output=True, text=True, timeout=120, preexec_fn=_limited, cwd=ROOT)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
    (error,) = json.loads(done.stdout)["diagnostics"]
    assert (error["code"], error["line"], error["column"]) == ("E118", *where)
    assert error["message"].startswith(said) and error["message"].endswith("at most 100,000")
    assert [note["line"] for note in error["notes"]] == notes


def test_a_body_is_sized_once_per_block_arguments_and_depth(monkeypatch) -> None:
    """The size of 2^20 layers is found in a few dozen steps, not a million: each block's body
    is counted once (memoised), not once per instance."""
    from specc.lower.budget import Sizes

    visits = []
    counted = Sizes.statement
    monkeypatch.setattr(Sizes, "statement", lambda self, *args: visits.append(1) or counted(self, *args))
    (error,) = specc.check(doubling(20)).errors
    assert error.code == "E118" and "1,048,576 layers" in error.message
    assert len(visits) < 100


def test_nothing_is_made_past_the_budget() -> None:
    """The budget is counted before a statement expands: the lines above the crossing one are made,
    the crossing one and everything after it are not."""
    text = "input 8x8x3\nrelu repeat=60000\nblock b() {\n relu\n relu\n}\nb repeat=20001\nrelu repeat=5\n"
    items, _ = parse(text)
    made = []
    out = expand(items, made.append)
    assert len(made) == 60_000
    (error,) = out.diagnostics
    assert error.code == "E118" and "40,002 layers, 100,002 with the 60,000 above it" in error.message


def test_the_budget_is_inclusive_and_counts_every_layer() -> None:
    """`relu repeat=100000` (bench/bench_check.py's size) checks; one more copy does not. A line
    written out counts as much as a copy: 100,000 lines of layers check, one more does not
    (a 10 MB file of `relu` lines would otherwise hand compile and draw two million layers)."""
    analysis = checked(f"input 8x8x3\nrelu repeat={MAX_LAYERS}\n")
    assert len(analysis.layers) == MAX_LAYERS
    (error,) = specc.check(f"input 8x8x3\nrelu repeat={MAX_LAYERS + 1}\n").errors
    assert error.code == "E118" and "would make 100,001 layers" in error.message
    items, _ = parse(f"input 8x8x3\nrelu repeat={MAX_LAYERS - 2}\nconv 3 1x1\nfc 10\n")
    made = []
    assert expand(items, made.append).diagnostics == [] and len(made) == MAX_LAYERS
    lines = "input 8x8x3\n" + "relu\n" * MAX_LAYERS
    assert len(checked(lines).layers) == MAX_LAYERS
    (error,) = specc.check(lines + "fc 10\n").errors
    assert (error.code, error.line) == ("E118", MAX_LAYERS + 2)


def test_block_layers_count_once_per_instance_and_instances_count_too() -> None:
    two = "input 8x8x3\nblock b() {{\n relu\n relu\n}}\nb repeat={}\n"
    items, _ = parse(two.format(MAX_LAYERS // 2))
    assert expand(items, lambda line: None).diagnostics == []
    (error,) = specc.check(two.format(MAX_LAYERS // 2 + 1)).errors
    assert error.code == "E118" and "100,002 layers" in error.message
    empty = "input 8x8x3\nblock e() {\n}\nblock f() {\n e repeat=1000\n}\nf repeat=1000\nrelu\n"
    (error,) = specc.check(empty).errors
    assert error.code == "E118" and "1,001,000 block instances" in error.message


def test_a_repeat_bound_to_a_parameter_counts_with_its_value() -> None:
    text = "input 8x8x3\nblock b(n) {{\n relu repeat=n\n}}\nb 50000\nb {}\n"
    items, _ = parse(text.format(50_000))
    assert expand(items, lambda line: None).diagnostics == []
    (error,) = specc.check(text.format(50_001)).errors
    assert (error.code, error.line) == ("E118", 6)


def test_a_huge_repeat_is_quoted_short() -> None:
    """Audit C1: a 5,000-digit `repeat=` was printed whole."""
    digits = "9" * 5000
    (error,) = specc.check(f"input 8x8x3\nrelu repeat={digits}\n").errors
    assert error.code == "E118" and "(5,000 digits)" in error.message and len(error.message) < 200
    (error,) = specc.check(f"input 8x8x3\nrelu repeat=1.{digits}\n").errors
    assert error.code == "E106" and "(5,001 digits)" in error.message and len(error.message) < 200


def test_calls_nest_at_most_32_deep_and_the_error_comes_before_any_recursion_limit() -> None:
    """Audit N6: at 500 deep, check itself died in a RecursionError."""
    for depth in (MAX_DEPTH + 1, 1000):
        (error,) = specc.check(nested(depth)).errors
        assert error.code == "E119" and f"{MAX_DEPTH + 1} blocks deep" in error.message
        assert error.line == 6 + 3 * (depth - MAX_DEPTH - 1)  # the call of the block one level too deep
        assert len(error.notes) == 2  # the outermost and innermost calls; the message has the chain


def test_a_spec_nested_exactly_32_deep_checks_compiles_builds_exports_and_draws(tmp_path: Path) -> None:
    """Audit N6: at 250-450 deep check said ok and every builder died in a RecursionError."""
    spec = tmp_path / "deep.cnn"
    spec.write_text(nested(MAX_DEPTH))
    analysis = checked(spec.read_text())
    deepest = analysis.layers[0].layer.name
    assert deepest.count(".") == MAX_DEPTH and deepest.endswith(".conv1")
    assert main(["compile", str(spec), "-o", str(tmp_path / "deep.py")]) == 0
    module = specc.build(spec.read_text())
    assert module(torch.rand(2, 3, 8, 8)).shape == (2, 2)
    assert main(["export", str(spec), "-o", str(tmp_path / "deep.onnx"), "--seed", "3"]) == 0
    assert (tmp_path / "deep.onnx").stat().st_size > 0
    assert main(["draw", str(spec), "-o", str(tmp_path / "deep.svg")]) == 0
    assert "<svg" in (tmp_path / "deep.svg").read_text()


@pytest.mark.parametrize("line, column", [("relu repeat=1 repeat=1000000000", 15), ("b repeat=2 repeat=3", 12)])
def test_repeat_given_twice_is_an_error(line: str, column: int) -> None:
    """Audit N10: the first `repeat=` won, silently."""
    text = f"input 8x8x3\nblock b() {{\n relu\n}}\n{line}\n"
    analysis = assert_diagnostics(text, ("E107", 5, column))
    assert analysis.diagnostics[0].message.startswith("repeat given twice (first at column")


@pytest.mark.parametrize("name", ["in", "from", "repeat"])
def test_a_parameter_cannot_take_a_name_a_call_or_body_already_gives_a_meaning(name: str) -> None:
    """Audit N11: `block b(in)` gave `E112 unknown reference '3'` at `add in`."""
    text = f"input 8x8x3\nblock b({name}) {{\n conv 3 3x3 p=same\n add in\n}}\nb 3\n"
    (error,) = assert_diagnostics(text, ("E007", 2, 9)).diagnostics
    assert f"cannot be named `{name}`" in error.message


def test_a_parameter_cannot_share_a_label_of_its_body() -> None:
    text = "input 8x8x3\nblock b(x) {\n x: conv 3 3x3 p=same\n add x\n}\nb 3\n"
    (error,) = assert_diagnostics(text, ("E007", 2, 9)).diagnostics
    assert "label on line 3" in error.message


def test_a_default_is_read_in_the_block_s_scope_at_each_copy() -> None:
    """Audit N12: `n=in.c` gave E105. A default is read where the body is expanded: `in` is each
    copy's input, so the channels double copy after copy."""
    text = "input 8x8x3\nblock b(n=in.c*2) {\n conv n 1x1 relu\n}\nb repeat=3\nb 5\n"
    analysis = checked(text)
    assert [r.output for r in analysis.layers] == [(8, 8, 6), (8, 8, 12), (8, 8, 24), (8, 8, 5)]
    module = specc.build(text)
    assert module(torch.rand(1, 3, 8, 8)).shape == (1, 5, 8, 8)
    assert sum(p.numel() for p in module.parameters()) == analysis.totals.params
    outside = "input 8x8x3\na: conv 4 1x1\nblock b(s=a) {\n add s\n}\nb\n"
    (error,) = specc.check(outside).errors
    assert error.code == "E112" and "closed" in error.help


def test_the_bare_label_of_a_repeated_instance_reaches_into_its_last_copy() -> None:
    """Audit C6: `x.q` was E112, although the bare label `x` is the last copy."""
    text = ("input 8x8x4\nblock b() {\n q: conv 6 3x3 p=same relu\n conv 4 1x1\n}\n"
            "x: b repeat=2\nconv 4 1x1 from=x.q\nconv x.q.c 1x1\nfc 2\n")
    analysis = checked(text)
    layers = {r.layer.name: r for r in analysis.layers}
    assert layers["conv1"].layer.inputs == ("x.1.q",) and layers["conv2"].output == (8, 8, 6)
    assert specc.build(text)(torch.rand(1, 4, 8, 8)).shape == (1, 2)
