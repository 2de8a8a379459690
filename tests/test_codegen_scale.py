"""Code generation's work grows linearly with the layers and block copies.

Wall-clock limits flake on shared machines, so each test counts the bytecode
instructions that ``generate`` runs at N and at 4N copies: linear work runs
about 4 times as many, a pass over every layer per copy 16 times (figures for
100,000 layers are measured by hand, not here).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

import specc
from specc.codegen import generate


def steps(work: Callable[[], object]) -> int:
    """How many bytecode instructions ``work()`` runs in Python code: deterministic, unlike its time,
    and it counts every turn of a loop, which counting calls would miss inside a comprehension."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


def repeated_block(n: int) -> str:
    return f"input 8x8x3\nblock b() {{\n  relu\n}}\nb repeat={n}\n"


def nested_repeat(n: int) -> str:
    """GoogLeNet's pattern: a call with `repeat=` inside a block that is called several times."""
    return ("input 8x8x3\nblock unit(n) {\n  conv n 1x1\n  relu\n}\n"
            f"block stage(n) {{\n  unit n repeat={n}\n  b: unit n\n  add b in\n}}\n"
            "stage 3\nstage 3\nstage 3\n")


def exported_copies(n: int) -> str:
    """Every copy of a repeated call gives a value that a line after the call reads."""
    reads = " ".join(f"x.{i}.s" for i in range(n))
    return f"input 4x4x1\nblock b() {{\ns: relu\n  conv 1 1x1\n}}\nx: b repeat={n}\nconcat {reads}\n"


def layer_chain(n: int) -> str:
    return "input 8x8x3\n" + "conv 3 1x1\n" * n


@pytest.mark.parametrize("spec", [repeated_block, nested_repeat, exported_copies, layer_chain],
                         ids=lambda f: f.__name__)
def test_generate_does_linear_work(spec: Callable[[int], str]) -> None:
    small, large = (specc.check(spec(n)) for n in (150, 600))
    assert small.ok and large.ok
    ratio = steps(lambda: generate(large)) / steps(lambda: generate(small))
    assert ratio < 6, f"4 times the copies cost {ratio:.1f} times the work: generate is not linear"


def nested(depth: int) -> str:
    """Blocks nested ``depth`` deep: each calls the one before (the language allows 32)."""
    lines = ["input 8x8x3", "block b0() {", "  conv 3 1x1 relu", "}"]
    for d in range(1, depth):
        lines += [f"block b{d}() {{", f"  b{d - 1}", "  relu", "}"]
    return "\n".join([*lines, f"b{depth - 1}"]) + "\n"


def deepest_stack(work: Callable[[], object]) -> int:
    """The most Python frames ``work()`` has open at once, below its own."""
    depth = deepest = 0

    def profile(frame, event, arg) -> None:
        nonlocal depth, deepest
        if event == "call":
            depth += 1
            deepest = max(deepest, depth)
        elif event == "return":
            depth -= 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return deepest


def test_each_nesting_level_costs_generate_a_few_frames() -> None:
    """Code generation recurses once per block level; at 4 frames a level, 32 levels take ~130 of
    Python's 1,000 (and depth 200, past the language's limit, still fits)."""
    shallow, deep = (specc.check(nested(n)) for n in (8, 24))
    per_level = (deepest_stack(lambda: generate(deep)) - deepest_stack(lambda: generate(shallow))) / 16
    assert per_level <= 5


def test_a_spec_nested_32_blocks_deep_builds_and_runs() -> None:
    import torch

    analysis = specc.check(nested(32))
    assert analysis.ok
    module = specc.build(analysis)
    assert sum(p.numel() for p in module.parameters()) == analysis.totals.params
    assert module(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 8, 8)
