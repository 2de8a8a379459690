"""`specc predict` and `specc val` on a tiny trained run; torch and onnxruntime are the oracles.

One run is trained once per module (a few seconds): 8x8 grayscale images in
three classes, saved as uint8 so that image files and the .npz agree on scaling.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from specc.cli import main
from specc.runtime.checkpoint import load_model
from specc.training.runlog import read_metrics

SPEC = """model blobs
input 8x8x1
conv 4 3x3 relu
fc 3 softmax
train batch=32 epochs=3 lr=0.02 seed=0
"""
NAMES = ["dark", "left", "right"]


def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.integers(0, 60, (n, 8, 8, 1)).astype(np.uint8)
    x[y == 1, :, :4] += 150
    x[y == 2, :, 4:] += 150
    return x, y


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("predict")
    (root / "blobs.cnn").write_text(SPEC)
    x, y = images(300, 0)
    np.savez(root / "train.npz", x=x, y=y, class_names=np.array(NAMES))
    x_test, y_test = images(40, 1)
    np.savez(root / "test.npz", x=x_test, y=y_test)
    for i in range(3):
        Image.fromarray(x_test[i, :, :, 0]).save(root / f"img{i}.png")
    (root / "folder").mkdir()
    Image.fromarray(x_test[3, :, :, 0]).save(root / "folder" / "a.png")
    Image.fromarray(np.zeros((16, 12), np.uint8)).save(root / "big.png")
    assert main(["train", str(root / "blobs.cnn"), "--data", str(root / "train.npz"), "--out", str(root / "run"),
                 "--quiet"]) == 0
    return root


def oracle(run: Path, x: np.ndarray) -> np.ndarray:
    """Probabilities straight from the checkpoint's module, on pixels / 255."""
    module, _ = load_model(run / "run")
    with torch.no_grad():
        tensor = torch.from_numpy(x.astype(np.float32) / 255).permute(0, 3, 1, 2)
        return module(tensor).numpy()


def predictions(capsys, *args: str) -> list[dict]:
    assert main(["predict", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)["predictions"]


def test_predict_ranks_classes_as_the_module_scores_them(run: Path, capsys) -> None:
    found = predictions(capsys, str(run / "run"), *(str(run / f"img{i}.png") for i in range(3)),
                        str(run / "folder"), "--top", "2")
    expected = oracle(run, images(40, 1)[0][:4])
    assert [p["input"] for p in found] == [str(run / f"img{i}.png") for i in range(3)] + [str(run / "folder/a.png")]
    for p, probs in zip(found, expected):
        assert [t["class"] for t in p["top"]] == list(np.argsort(-probs)[:2])
        assert [t["name"] for t in p["top"]] == [NAMES[t["class"]] for t in p["top"]]
        assert [t["probability"] for t in p["top"]] == pytest.approx(sorted(probs)[::-1][:2], abs=1e-6)


def test_an_npz_and_an_onnx_export_agree_with_the_checkpoint(run: Path, capsys) -> None:
    from_npz = predictions(capsys, str(run / "run"), str(run / "test.npz"))
    assert main(["export", str(run / "run")]) == 0
    capsys.readouterr()
    onnx_file = run / "run" / "blobs.onnx"  # the default: RUN_DIR/<model>.onnx
    from_onnx = predictions(capsys, str(onnx_file), str(run / "test.npz"))
    assert len(from_npz) == 40 and from_npz[0]["input"].endswith("test.npz[0]")
    for a, b in zip(from_npz, from_onnx):
        assert [t["class"] for t in a["top"]] == [t["class"] for t in b["top"]]
        assert [t["probability"] for t in a["top"]] == pytest.approx([t["probability"] for t in b["top"]], abs=1e-5)
    assert from_onnx[0]["top"][0]["name"] in NAMES


def test_a_wrong_size_image_names_both_sizes_unless_resized(run: Path, capsys) -> None:
    assert main(["predict", str(run / "run"), str(run / "big.png")]) == 1
    assert "is 16x12 but the spec's input is 8x8x1; pass --resize" in capsys.readouterr().err
    assert main(["predict", str(run / "run"), str(run / "big.png"), "--resize"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("blobs: checkpoint ") and "big.png" in out and "%" in out


def test_val_scores_a_test_set_and_writes_its_figures(run: Path, capsys) -> None:
    assert main(["val", str(run / "run"), "--data", str(run / "test.npz"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    x, y = images(40, 1)
    predicted = oracle(run, x).argmax(axis=1)
    assert report["accuracy"] == pytest.approx(float((predicted == y).mean()))
    assert report["samples"] == "every sample: 40"
    assert [c["samples"] for c in report["per_class"]] == [int((y == k).sum()) for k in range(3)]
    assert [c["name"] for c in report["per_class"]] == NAMES
    assert np.array(report["confusion"]).sum() == 40
    # precision, recall and F1 per class and macro (spec-tasks §1), scikit-learn the oracle
    from sklearn.metrics import precision_recall_fscore_support

    for average, got in ((None, report["per_class"]), ("macro", [report["macro"]])):
        p, r, f, _ = precision_recall_fscore_support(y, predicted, labels=[0, 1, 2], average=average,
                                                     zero_division=0)
        assert [v for c in got for v in (c["precision"], c["recall"], c["f1"])] == pytest.approx(
            [float(v) for trio in zip(np.atleast_1d(p), np.atleast_1d(r), np.atleast_1d(f)) for v in trio])
    for name in ("val-confusion.png", "val-misclassified.png"):
        assert (run / "run" / name).read_bytes()[:4] == b"\x89PNG"


def test_val_accepts_a_test_set_without_every_class(run: Path, capsys) -> None:
    x, y = images(40, 2)
    keep = y < 2
    np.savez(run / "two.npz", x=x[keep], y=y[keep])
    assert main(["val", str(run / "run"), "--data", str(run / "two.npz"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    per_class = report["per_class"]
    assert [c["samples"] for c in per_class] == [int((y == 0).sum()), int((y == 1).sum()), 0]
    assert per_class[2]["accuracy"] is None
    from sklearn.metrics import precision_recall_fscore_support

    predicted = oracle(run, x[keep]).argmax(axis=1)  # a class with no sample counts 0 in the macro means
    p, r, f, _ = precision_recall_fscore_support(y[keep], predicted, labels=[0, 1, 2], average="macro",
                                                 zero_division=0)
    assert (report["macro"]["precision"], report["macro"]["recall"], report["macro"]["f1"]) == pytest.approx((p, r, f))


def test_val_on_the_run_s_own_data_repeats_its_held_out_split(run: Path, capsys) -> None:
    assert main(["val", str(run / "run")]) == 0
    out = capsys.readouterr().out
    best = max(r["val_acc"] for r in read_metrics(run / "run"))
    assert "the run's held-out split (0.1 of the data, seed 0): 30" in out
    assert f"accuracy  {best:.2%}" in out


def test_training_plots_the_validation_confusion_matrix(run: Path) -> None:
    assert (run / "run" / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "run" / "misclassified.png").is_file()


def test_hints_only_on_a_terminal_and_never_quiet(run: Path, capsys, monkeypatch) -> None:
    assert main(["export", str(run / "run"), "-o", str(run / "x.onnx")]) == 0
    assert "next:" not in capsys.readouterr().out  # not a terminal
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["export", str(run / "run"), "-o", str(run / "x.onnx")]) == 0
    assert f"next: specc predict {run / 'x.onnx'} IMAGE..." in capsys.readouterr().out
    assert main(["train", str(run / "blobs.cnn"), "--data", str(run / "test.npz"), "--out", str(run / "r2"),
                 "--epochs", "1"]) == 0
    assert f"next: specc val {run / 'r2'}   # held-out" in capsys.readouterr().out
    assert main(["train", str(run / "blobs.cnn"), "--data", str(run / "test.npz"), "--out", str(run / "r3"),
                 "--epochs", "1", "-q"]) == 0
    assert capsys.readouterr().out == ""


def test_export_of_a_spec_still_needs_an_output(run: Path, capsys) -> None:
    assert main(["export", str(run / "blobs.cnn")]) == 2
    assert "-o FILE.onnx" in capsys.readouterr().err


def test_precision_recall_and_f1_agree_with_scikit_learn_on_imperfect_predictions() -> None:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    from specc.api.evaluate import _per_class, macro

    rng = np.random.default_rng(5)
    truth = rng.integers(0, 4, 300)
    guess = np.where(rng.random(300) < 0.6, truth, rng.integers(0, 4, 300))
    guess[guess == 3] = 0  # class 3 is never predicted: its precision has nothing to count (0, as zero_division=0)
    rows = _per_class(confusion_matrix(truth, guess, labels=[0, 1, 2, 3]), ["a", "b", "c", "d"])
    for average, got in ((None, rows), ("macro", [macro(rows)])):
        p, r, f, _ = precision_recall_fscore_support(truth, guess, labels=[0, 1, 2, 3], average=average,
                                                     zero_division=0)
        assert [v for c in got for v in (c["precision"], c["recall"], c["f1"])] == pytest.approx(
            [float(v) for trio in zip(np.atleast_1d(p), np.atleast_1d(r), np.atleast_1d(f)) for v in trio])
    assert rows[3]["precision"] == 0.0 and 0 < macro(rows)["f1"] < 1
