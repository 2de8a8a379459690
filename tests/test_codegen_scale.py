"""Code generation's work grows linearly with the layers and block copies.

Wall-clock limits flake on shared machines, so each test counts the Python
function calls (and calls of builtins) that ``generate`` makes at N and at 4N
copies: linear work gives about 4 times as many, a pass over every layer per
copy 16 times (bench figures for 100,000 layers are in the report, not here).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

import specc
from specc.codegen import generate


def calls(work: Callable[[], object]) -> int:
    """How many Python and builtin calls ``work()`` makes (deterministic, unlike its time)."""
    count = 0

    def profile(frame, event, arg) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
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
    ratio = calls(lambda: generate(large)) / calls(lambda: generate(small))
    assert ratio < 6, f"4 times the copies cost {ratio:.1f} times the calls: generate is not linear"
