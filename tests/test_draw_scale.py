"""`specc draw`'s layout grows linearly with block instances, their frames and shortcuts.

As in test_codegen_scale.py, the work is counted in bytecode instructions, not
timed: 4 times the layers must cost well under the 16 times of a quadratic layout.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_codegen_scale import layer_chain, repeated_block, steps

import specc
from specc.draw import draw
from specc.draw.adapter import from_analysis


def residual_block(n: int) -> str:
    """Shortcuts past two layers, every one in the same channel between two lanes."""
    return f"input 8x8x3\nblock res() {{\n  conv 3 1x1\n  relu\n  add in\n}}\nres repeat={n}\n"


CASES = [
    (repeated_block, "svg", False),  # every instance in its own frame
    (repeated_block, "html", None),  # the page: expanded, collapsed and the one block expanded
    (residual_block, "svg", False),
    (layer_chain, "svg", False),
]


@pytest.mark.parametrize(("spec", "fmt", "collapsed"), CASES,
                         ids=[f"{s.__name__}-{f}" for s, f, _ in CASES])
def test_draw_does_linear_work(spec: Callable[[int], str], fmt: str, collapsed: bool | None) -> None:
    small, large = (from_analysis(specc.check(spec(n))) for n in (100, 400))
    ratio = steps(lambda: draw(large, fmt, "TB", collapsed)) / steps(lambda: draw(small, fmt, "TB", collapsed))
    assert ratio < 6, f"4 times the layers cost {ratio:.1f} times the work: the layout is not linear"
