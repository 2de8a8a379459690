"""Next-step hints printed after `specc train` and `specc export`.

Only for a person at a terminal: never when stdout is piped or redirected, never
with --quiet, so scripts and logs see exactly what they saw before.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def wanted(quiet: bool = False) -> bool:
    return not quiet and sys.stdout.isatty()


def after_train(run_dir: Path) -> str:
    run = shlex.quote(str(run_dir))
    return "\n".join([
        f"next: specc val {run}   # held-out accuracy per class, confusion matrix (--data TEST for a test set)",
        f"      specc export {run}   # one verified .onnx file",
        f"      specc predict {run} IMAGE...   # classify your own images",
    ])


def after_export(onnx_file: Path) -> str:
    return f"next: specc predict {shlex.quote(str(onnx_file))} IMAGE...   # classify images with onnxruntime"


def show(text: str, quiet: bool = False) -> None:
    if wanted(quiet):
        print(text)
