"""How to export: ``ExportOptions`` and the defaults `specc export`'s flags show. No onnx, no torch.

The command line builds its parser from these values, so `specc --help` and
`specc export --help` read them without loading the exporter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpeccError

MIN_OPSET = 18  # the lowest opset the dynamo exporter implements (onnxruntime >= 1.14 runs it)
DEFAULT_OPSET = MIN_OPSET  # the widest choice of runtimes
DEFAULT_ATOL = 1e-5  # float32 rounding in a small net is ~1e-7; a wrong op is off by far more
VERIFY_BATCHES = (1, 7)  # 1, and an odd size above it, catch a batch dimension baked into the graph


@dataclass(frozen=True)
class ExportOptions:
    """How to export; each default is what users get without the flag."""

    batch: int | None = None  # None: a symbolic batch dimension named "batch"
    opset: int = DEFAULT_OPSET  # 18: the lowest the exporter implements, so the most runtimes load it
    logits: bool = False  # False: export forward(), i.e. probabilities when the spec ends in softmax/sigmoid
    seed: int | None = None  # random weights of a spec; None: unseeded
    spec: Path | None = None  # a spec the checkpoint must have been trained on
    atol: float = DEFAULT_ATOL  # largest absolute difference onnxruntime vs PyTorch accepted

    def validate(self, max_opset: int) -> None:
        """Refuse options no export can meet; ``max_opset`` is the newest the installed onnx knows."""
        if self.batch is not None and self.batch < 1:
            raise SpeccError(f"--batch must be at least 1 (got {self.batch})", 2)
        if not MIN_OPSET <= self.opset <= max_opset:
            raise SpeccError(f"--opset must be between {MIN_OPSET} and {max_opset} (got {self.opset}): the "
                             f"exporter implements opset {MIN_OPSET} and newer, and the installed onnx knows "
                             f"up to {max_opset}", 2)
        if not 0 < self.atol < math.inf:  # inf (or NaN) would make the comparison unable to fail
            raise SpeccError(f"--atol must be a positive, finite number (got {self.atol})", 2)

    @property
    def batches(self) -> tuple[int, ...]:
        return (self.batch,) if self.batch else VERIFY_BATCHES
