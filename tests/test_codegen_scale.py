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
