"""`specc export`: a run, checkpoint or spec to one verified, self-contained .onnx file.

    source ─load→ eval-mode module ─to_onnx→ ModelProto ─annotate→ temp file ─verify→ os.replace

The pieces live beside this file: :mod:`.options` (how to export, and the
defaults; no onnx, no torch), :mod:`.run` (the whole export: ``export``),
:mod:`.source` (what to export), :mod:`.graph` (the exporter and the
metadata), :mod:`.names` (nodes named after the spec), :mod:`.verify` (checker,
shape inference, onnxruntime against PyTorch). Importing the package loads
only the options: the command line reads their defaults without onnx or
torch, and ``export`` and ``ExportResult`` load the exporter when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .options import DEFAULT_ATOL, DEFAULT_OPSET, MIN_OPSET, VERIFY_BATCHES, ExportOptions

if TYPE_CHECKING:
    from .run import ExportResult, export

__all__ = ["DEFAULT_ATOL", "DEFAULT_OPSET", "MIN_OPSET", "VERIFY_BATCHES", "ExportOptions", "ExportResult", "export"]

_LAZY = ("ExportResult", "export")  # in .run, which imports onnx and torch


def __getattr__(name: str):
    if name in _LAZY:
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
