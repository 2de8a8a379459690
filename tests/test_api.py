"""The library verbs a notebook uses: specc.train on arrays in the course's layout,
specc.load and specc.export of the run, and their refusals.

torch is the oracle: the loaded module, run on the validation arrays, must
reach exactly the accuracy the run recorded.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import specc
from specc.errors import SpeccError
from specc.training import sources

SPEC = "model tiny\ninput 8x8x1\nconv 4 3x3 p=same relu\nmaxpool 2x2\nfc 10 softmax\n"


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits as the course lays data out: images (m, 8, 8, 1) uint8, labels (1, m)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images[:600, :, :, None] * 255 / 16).round().astype(np.uint8)
    return x, bunch.target[:600].reshape(1, -1)


def accuracy(module: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    images = torch.from_numpy(x.astype(np.float32) / 255).permute(0, 3, 1, 2)  # NHWC uint8 -> NCHW in [0, 1]
    with torch.no_grad():
        predicted = module(images).argmax(dim=1).numpy()
    return float((predicted == y.reshape(-1)).mean())


def test_train_on_course_arrays_then_load_the_best_module(tmp_path: Path, digits) -> None:
    x, y = digits
    data = (x[:500], y[:, :500], x[500:], y[:, 500:])
    result = specc.train(SPEC, data, out=tmp_path / "run", epochs=2, batch=32, lr=0.01, threads=1, quiet=True)
    assert result.run_dir == tmp_path / "run" and len(result.history) == 2
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["data"]["source"] == "arrays:500x8x8x1 uint8" and config["data"]["val_samples"] == 100
    assert config["train"]["epochs"] == 2 and config["model"] == "tiny"
    assert (result.run_dir / "spec.cnn").read_text() == SPEC
    module = specc.load(result.run_dir)
    assert not module.training
    assert accuracy(module, x[500:], y[:, 500:]) == pytest.approx(result.best_acc, abs=1e-9)
    assert accuracy(specc.load(result), x[500:], y[:, 500:]) == pytest.approx(result.best_acc, abs=1e-9)
    assert sources._LENT == {}  # the arrays are not kept after the call


def test_float_images_and_flat_labels_hold_out_a_validation_share(tmp_path: Path, digits) -> None:
    x, y = digits
    analysis = specc.check(SPEC)
    result = specc.train(analysis, (x.astype(np.float32) / 255, y.reshape(-1)), out=tmp_path / "run",
                         epochs=1, val=0.25, threads=1, quiet=True)
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["data"]["val_samples"] == 150 and config["data"]["scaling"] == "float32 used as is"


def test_an_analysis_of_a_file_trains_from_that_file(tmp_path: Path, digits) -> None:
    spec = tmp_path / "tiny.cnn"
    spec.write_text(SPEC)
    result = specc.train(specc.check(spec), digits, out=tmp_path / "run", epochs=1, threads=1, quiet=True)
    assert json.loads((result.run_dir / "config.json").read_text())["spec"] == str(spec)


def test_export_of_a_run_is_verified(tmp_path: Path, digits) -> None:
    x, y = digits
    result = specc.train(SPEC, (x, y), out=tmp_path / "run", epochs=1, threads=1, quiet=True)
    exported = specc.export(result, tmp_path / "tiny.onnx", batch=2)
    assert exported.path.is_file() and exported.input_shape == (2, 1, 8, 8)
    assert max(exported.max_abs_diff.values()) <= 1e-5
    with pytest.raises(TypeError, match="did you mean `opset`"):
        specc.export(result, tmp_path / "other.onnx", opsets=18)


def test_mistakes_are_refused_before_training(tmp_path: Path, digits) -> None:
    x, y = digits
    with pytest.raises(TypeError, match="unknown keyword argument 'epocs'; did you mean `epochs`"):
        specc.train(SPEC, (x, y), epocs=1)
    with pytest.raises(SpeccError, match=r"\(x, y\) or \(x, y, x_val, y_val\); got 3"):
        specc.train(SPEC, (x, y, x))
    with pytest.raises(SpeccError, match="dtype int64"):
        specc.train(SPEC, (x.astype(np.int64), y))
    with pytest.raises(SpeccError, match=r"images are 8x8x3 but the spec's input is 8x8x1 \(line 2\)"):
        specc.train(SPEC, (np.repeat(x, 3, axis=3), y), out=tmp_path / "run")
    with pytest.raises(SpeccError, match="specc.train needs data"):
        specc.train(SPEC)
    with pytest.raises(specc.SpecCheckError, match="not training"):
        specc.train("input 8x8x1\ncovn 4 3x3\n", (x, y))
    assert sources._LENT == {} and not (tmp_path / "run").exists()


def test_train_and_export_are_verbs_beside_their_packages() -> None:
    import specc.exporting
    import specc.training

    assert callable(specc.train) and callable(specc.export) and callable(specc.load)
    assert specc.training.Request.__name__ == "Request" and specc.exporting.ExportOptions.__name__ == "ExportOptions"
    assert "hyperparameters" in inspect.signature(specc.train).parameters
    assert list(inspect.signature(specc.export).parameters) == ["source", "output", "options"]
    assert inspect.isfunction(specc.train) and inspect.isfunction(specc.export)  # importing the packages hid nothing


def test_the_progress_bar_draws_in_a_jupyter_kernel(monkeypatch, capsys) -> None:
    import types

    from specc.training.progress import Progress

    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert not Progress(quiet=False).live  # stderr is no terminal here: no bar
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))  # as inside a Jupyter kernel
    progress = Progress(quiet=False)
    assert progress.live and not Progress(quiet=True).live
    report = progress.epoch(1, 2, steps=4)
    for step in range(1, 5):
        report(step, torch.tensor([0.5 * step]), step)
    progress.end_epoch()
    assert "epoch 1/2" in capsys.readouterr().err
