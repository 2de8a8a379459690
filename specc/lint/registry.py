"""The rule table: every lint rule, by code, in one static list.

Each rule module defines CODE, NAME, DEFAULT and ``check(graph)``;
its docstring is its documentation (first line: the summary). The list is
written out rather than discovered, so that `specc check` imports exactly
these modules and nothing scans the package; tests/test_rules.py
checks that every module of the package is listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType

from ..diagnostics import Diagnostic
from .rules import (
    bias_before_batchnorm,
    consecutive_linear_layers,
    dense_on_large_map,
    even_kernel_same_padding,
    floor_drops_border,
    kernel_larger_than_map,
    misplaced_batchnorm,
    no_activation,
    output_without_softmax,
    read_before_norm,
    receptive_field_too_small,
    redundant_activation,
    saturating_activation,
    softmax_not_last,
    stride_skips_input,
    unused_block,
    unused_block_parameter,
    unused_layer,
    useless_dropout,
)
from .view import GraphView

Check = Callable[[GraphView], Iterable[Diagnostic]]

MODULES: tuple[ModuleType, ...] = (
    dense_on_large_map, consecutive_linear_layers, no_activation, unused_layer, unused_block, unused_block_parameter,
    read_before_norm,
    stride_skips_input, floor_drops_border, even_kernel_same_padding, kernel_larger_than_map,
    receptive_field_too_small,
    softmax_not_last, saturating_activation, output_without_softmax, redundant_activation,
    bias_before_batchnorm, useless_dropout, misplaced_batchnorm,
)


class Rule:
    """A rule's table entry. A plain class: a dataclass costs a millisecond of start-up."""

    __slots__ = ("code", "name", "default", "check", "doc", "module")

    def __init__(self, module: ModuleType):
        self.code: str = module.CODE
        self.name: str = module.NAME
        self.default: bool = module.DEFAULT
        self.check: Check = module.check
        self.doc: str = module.__doc__ or ""
        self.module: str = module.__name__

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0]

    def section(self, title: str) -> str:
        """The text under ``## title`` in the docstring, '' if there is none."""
        _, found, rest = self.doc.partition(f"## {title}\n")
        return rest.split("\n## ", 1)[0].strip() if found else ""

    def __repr__(self) -> str:
        return f"Rule({self.code} {self.name})"


RULES: dict[str, Rule] = {rule.code: rule for rule in map(Rule, MODULES)}
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES.values()}
DEFAULTS: frozenset[str] = frozenset(code for code, rule in RULES.items() if rule.default)
