"""The shape pass's dispatch table: one rule per layer kind (tests/test_tables.py checks
it is complete). The rules live in :mod:`specc.shapes` (the course's kinds and merges)
and :mod:`specc.shapes_kinds` (the later networks' kinds). No torch."""

from __future__ import annotations

from collections.abc import Callable

from . import ir, shapes_kinds
from .shapes import (
    Result,
    add,
    batchnorm,
    concat,
    conv,
    dense,
    flatten,
    global_pool,
    identity,
    invalid,
    multiply,
    pool,
)

RULES: dict[type, Callable[..., Result]] = {
    ir.Conv: conv, ir.DepthwiseConv: conv, ir.ConvTranspose: shapes_kinds.convtranspose,
    ir.Upsample: shapes_kinds.upsample, ir.ZeroPad: shapes_kinds.zeropad, ir.Norm: shapes_kinds.norm,
    ir.Pool: pool, ir.GlobalPool: global_pool, ir.Flatten: flatten, ir.Dense: dense,
    ir.Activation: identity, ir.BatchNorm: batchnorm, ir.Dropout: identity, ir.Invalid: invalid,
    ir.Add: add, ir.Concat: concat, ir.Multiply: multiply,
}
