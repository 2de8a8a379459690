"""Code generation's dispatch table: one emitter per layer kind (tests/test_compile.py
checks it matches the shape rules). The emitters live in :mod:`.emit` and
:mod:`.emit_kinds`. No torch."""

from __future__ import annotations

from collections.abc import Callable

from .. import ir
from ..analysis import LayerReport
from .emit import (
    activation,
    add,
    batchnorm,
    concat,
    conv,
    dense,
    dropout,
    flatten,
    global_pool,
    invalid,
    multiply,
    pool,
)
from .emit_kinds import convtranspose, norm, upsample, zeropad
from .steps import Context, Unit

EMITTERS: dict[type, Callable[[LayerReport, Context], Unit]] = {
    ir.Conv: conv, ir.DepthwiseConv: conv, ir.ConvTranspose: convtranspose, ir.Upsample: upsample,
    ir.ZeroPad: zeropad, ir.Norm: norm,
    ir.Pool: pool, ir.GlobalPool: global_pool, ir.Flatten: flatten, ir.Dense: dense,
    ir.Activation: activation, ir.BatchNorm: batchnorm, ir.Dropout: dropout, ir.Invalid: invalid,
    ir.Add: add, ir.Concat: concat, ir.Multiply: multiply,
}
