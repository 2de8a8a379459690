"""regress: K real values per sample (spec-tasks §1): a steering angle, a box, an age.

The loss reads the module's output itself (after its final activation: a
sigmoid for values in [0, 1] is part of the prediction). Loss `mse` (default),
`mae` or `huber` (δ = 1, torch's smooth transition from squared to absolute
error). Metrics per output and their means: MAE, RMSE and R² = 1 − SS_res/SS_tot
(scikit-learn's ``r2_score``; an output whose targets are all equal has R² 0 when
predicted exactly wrong and 1 when right, as scikit-learn's ``force_finite``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import SpeccError
from ...numbers import dims
from . import Task, scores_of


class Regress(Task):
    name = "regress"
    losses = ("mse", "mae", "huber")
    train_columns = ("mae",)
    val_columns = ("mae", "rmse", "r2")
    curve = "mae"  # the metric curves.png draws beside the loss
    monitor, higher = "val_loss", False
    reads_logits = False
    target_dtype = torch.float32

    @classmethod
    def unfit(cls, io) -> str | None:
        if scores_of(io) is None:
            return f"its output is {dims(io.output)} (line {io.output_line}), not a vector of values (or a 1x1 map)"
        return None

    @property
    def outputs(self) -> int:
        return int(scores_of(self.io) or 0)

    def targets(self, y: np.ndarray, what: str) -> np.ndarray:
        y = np.asarray(y)
        k = self.outputs
        if y.ndim == 1 and k == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != k:
            raise SpeccError(f"{what} has shape {dims(y.shape)}, but the spec outputs {k} value{'s' * (k != 1)} "
                             f"(line {self.io.output_line}): regression targets are N×{k}"
                             f"{' (or N)' if k == 1 else ''} numbers")
        if not (np.issubdtype(y.dtype, np.number) and not np.issubdtype(y.dtype, np.complexfloating)):
            raise SpeccError(f"{what} has dtype {y.dtype}; regression targets are numbers")
        bad = ~np.isfinite(y.astype(np.float64))
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise SpeccError(f"{what} has {int(bad.sum())} non-finite value(s) (NaN or infinity), the first in "
                             f"sample {row}; clean them out before training")
        return y.astype(np.float32)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = out.float().flatten(1)
        if self.loss_name == "mae":
            return F.l1_loss(out, y)
        if self.loss_name == "huber":
            return F.huber_loss(out, y, delta=1.0)
        return F.mse_loss(out, y)

    @property
    def width(self) -> int:
        return 4 * self.outputs

    def sums(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per output: Σ|e|, Σe², Σy, Σy² (float64: R² subtracts large sums)."""
        e = out.detach().double().flatten(1) - y.double()
        t = y.double()
        return torch.cat([e.abs().sum(0), (e * e).sum(0), t.sum(0), (t * t).sum(0)])

    def metrics(self, sums: Sequence[float], count: float) -> dict[str, float]:
        rows = per_output(sums, count, self.outputs)
        mean = lambda key: sum(r[key] for r in rows) / len(rows) if rows else math.nan  # noqa: E731
        return {"mae": mean("mae"), "rmse": mean("rmse"), "r2": mean("r2")}

    def report(self, sums, count, outs, y, names):
        rows = [{"output": j, **row} for j, row in enumerate(per_output(sums, count, self.outputs))]
        return self.metrics(sums, count), rows

    def describe(self) -> str:
        return f"loss {self.loss_name}, {self.outputs} output{'s' * (self.outputs != 1)}"


def per_output(sums: Sequence[float], count: float, k: int) -> list[dict[str, float]]:
    """MAE, RMSE and R² of each output from its sums."""
    s = np.asarray(sums, dtype=np.float64).reshape(4, k)
    rows = []
    for j in range(k):
        if not count:
            rows.append({"mae": math.nan, "rmse": math.nan, "r2": math.nan})
            continue
        abs_e, sq_e, t, tt = s[:, j]
        total = tt - t * t / count  # Σ(y - ȳ)²
        r2 = 1.0 - sq_e / total if total > 1e-12 * max(tt, 1.0) else (1.0 if sq_e == 0 else 0.0)
        rows.append({"mae": float(abs_e / count), "rmse": math.sqrt(sq_e / count), "r2": float(r2)})
    return rows
