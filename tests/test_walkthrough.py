"""docs/walkthrough.ipynb runs from top to bottom in a real Jupyter kernel, so the
documented notebook flow (check -> compile -> train on arrays -> export) cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "walkthrough.ipynb"


def outputs(cell) -> str:
    """Everything a cell showed: streams, and the text and HTML of its results."""
    shown = []
    for output in cell.get("outputs", []):
        shown.append(output.get("text", ""))
        data = output.get("data", {})
        shown += [data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(shown)


def test_the_walkthrough_notebook_runs_in_a_kernel(tmp_path: Path, monkeypatch) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "commit it without outputs"
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel's torch: one thread, as the suite runs in parallel
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [outputs(cell) for cell in code]
    magic = next(text for cell, text in zip(code, shown) if cell.source.startswith("%%specc"))
    assert '<div class="specc-analysis">' in magic and "8x8x8" in magic  # the %%specc cell renders its table
    assert any("error[E101]" in text and "did you mean `conv`?" in text for text in shown)
    assert any("class Digits(nn.Module)" in text for text in shown)
    assert (tmp_path / "digits.onnx").is_file() and (tmp_path / "runs" / "digits" / "best.pt").is_file()
    # the course's second half: a segmenter and a Siamese pair network, each with its task's metrics
    assert any("segment val_miou" in text for text in shown)
    assert any("miou" in text and "pixel_accuracy" in text and "iou" in text for text in shown)
    assert any("verification accuracy" in text and "ROC AUC" in text for text in shown)
    assert (tmp_path / "runs" / "tiny_unet" / "best.pt").is_file()
    assert (tmp_path / "runs" / "siamese_digits" / "best.pt").is_file()
