"""Task segment (spec-tasks §1): its data (.npz, images/ + masks/ folders, synthetic shapes), checks, metrics,
pictures and resume, with scikit-learn and a hand-written torch loop as the oracles.

A small U-Net (two poolings, two transposed convolutions concatenated with their skips) on 32x32 synthetic
shapes trains in seconds on one CPU thread.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import accuracy_score, jaccard_score

from specc.cli import main
from specc.runtime.palette import palette
from specc.training.masks import Target, shapes
from specc.training.runlog import read_metrics
from specc.training.sources import Want, load
from specc.training.specio import SpecIO
from specc.training.tasks.segment import Segment

UNET = """model tinyunet
input 32x32x3

block down(n) {
        conv n 3x3 p=same relu
skip:   conv n 3x3 p=same relu
        maxpool 2x2
}

block up(n, skip) {
        convtranspose n 3x3 s=2 p=same
        concat skip
        conv n 3x3 p=same relu
}

d1:     down 4
d2:     down 8
        conv 16 3x3 p=same relu
        up 8 d2.skip
        up 4 d1.skip
        conv 3 1x1
train epochs=5 batch=16 lr=0.01 seed=0
"""
OUTPUT_LINE = 21  # `conv 3 1x1`: the spec's output, 32x32x3
TARGET = Target((32, 32, 3), (32, 32, 3), OUTPUT_LINE)


def spec(tmp_path: Path, text: str = UNET) -> Path:
    path = tmp_path / "unet.cnn"
    path.write_text(text)
    return path


def train(tmp_path: Path, *args: str) -> int:
    return main(["train", str(spec(tmp_path)), "--quiet", "--threads", "1", *args])


def drawn(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    found = shapes(TARGET, seed, size)
    return found.x, found.y


def write_folder(root: Path, x: np.ndarray, y: np.ndarray, images: str = "images", masks: str = "masks") -> Path:
    """Samples as PNG files: images/NNNN.png (RGB) and masks/NNNN.png (grayscale, the class id per pixel)."""
    (root / images).mkdir(parents=True)
    (root / masks).mkdir(parents=True)
    for i, (image, mask) in enumerate(zip(x, y)):
        Image.fromarray((image * 255).round().astype(np.uint8)).save(root / images / f"{i:04}.png")
        Image.fromarray(mask.astype(np.uint8)).save(root / masks / f"{i:04}.png")
    return root


def io(k: int = 3, size: int = 32) -> SpecIO:
    return SpecIO((size, size, 3), 2, 0, OUTPUT_LINE, False, output=(size, size, k))


# Metrics
@pytest.mark.parametrize("seed", range(4))
def test_pixel_accuracy_iou_and_miou_are_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    k = 5
    task = Segment(io(k, 6))
    out = torch.from_numpy(rng.standard_normal((7, k, 6, 6)))
    out[:, 4] -= 100  # class 4 is never predicted ...
    y = torch.from_numpy(rng.integers(0, 3 + seed % 2, (7, 6, 6)))  # ... and 3 (seeds 0, 2) never true
    sums = task.sums(out, y).tolist()
    truth, predicted = y.reshape(-1).numpy(), out.argmax(1).reshape(-1).numpy()
    metrics, rows = task.report(sums, len(y), None, y, None)
    assert metrics["pixel_accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    assert metrics["miou"] == pytest.approx(jaccard_score(truth, predicted, average="macro"), abs=1e-12)
    present = sorted(set(truth) | set(predicted))
    per_class = jaccard_score(truth, predicted, average=None, labels=present)
    assert [rows[c]["iou"] for c in present] == pytest.approx(list(per_class), abs=1e-12)
    assert all(rows[c]["iou"] is None for c in range(k) if c not in present)
    assert task.metrics(sums, len(y)) == pytest.approx({"acc": metrics["pixel_accuracy"], "miou": metrics["miou"]})


def test_the_palette_is_fixed_and_tells_classes_apart():
    assert np.array_equal(palette(3), palette(40)[:3]) and palette(1).tolist() == [[0, 0, 0]]
    assert len({tuple(c) for c in palette(60).tolist()}) == 60


# Training against a hand-written loop
def test_per_epoch_metrics_are_a_hand_written_torch_loops(tmp_path):
    from specc.runtime.build import instantiate
    from specc.training.setup import load_spec

    x, y = drawn(96)
    data = tmp_path / "shapes.npz"
    np.savez(data, x=x[:64], y=y[:64], x_val=x[64:], y_val=y[64:])
    assert train(tmp_path, "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "2") == 0
    ours = read_metrics(tmp_path / "run")

    torch.manual_seed(0)
    net = instantiate(load_spec(spec(tmp_path)))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(x[:64]).permute(0, 3, 1, 2), torch.from_numpy(y[:64]).long()
    xv, yv = torch.from_numpy(x[64:]).permute(0, 3, 1, 2), torch.from_numpy(y[64:]).long()
    for epoch, row in zip((1, 2), ours):
        net.train()
        order = torch.randperm(64, generator=torch.Generator().manual_seed(0 * 1_000_003 + epoch))
        total = 0.0
        for start in range(0, 64, 16):
            idx = order[start:start + 16]
            loss = F.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        net.eval()
        with torch.no_grad():
            scores = net(xv)
        truth, predicted = yv.reshape(-1).numpy(), scores.argmax(1).reshape(-1).numpy()
        assert row["train_loss"] == pytest.approx(total / 64, rel=1e-5)
        assert row["val_loss"] == pytest.approx(F.cross_entropy(scores, yv).item(), rel=1e-5)
        assert row["val_acc"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-9)
        assert row["val_miou"] == pytest.approx(jaccard_score(truth, predicted, average="macro"), abs=1e-9)


def test_a_small_unet_learns_synthetic_shapes_and_val_shows_them(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(tmp_path, "--data", "synthetic:320", "--out", str(out)) == 0
    history = read_metrics(out)
    assert max(r["val_miou"] for r in history) >= 0.9 and history[-1]["val_acc"] >= 0.95
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:6] == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_miou"]
    assert (out / "segmentation.png").stat().st_size > 10_000
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["task"] == "segment" and config["train"]["loss"] == "ce"
    capsys.readouterr()
    assert main(["val", str(out), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["task"] == "segment" and found["miou"] == pytest.approx(max(r["val_miou"] for r in history))
    assert [row["class"] for row in found["per_class"]] == [0, 1, 2] and 0 < found["pixel_accuracy"] <= 1
    assert (out / "val-segmentation.png").is_file()


def test_resume_continues_a_segment_run_as_a_straight_run_would(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train(tmp_path, "--data", "synthetic:96", "--out", str(straight), "--epochs", "3") == 0
    assert train(tmp_path, "--data", "synthetic:96", "--out", str(split), "--epochs", "2") == 0
    assert train(tmp_path, "--resume", str(split), "--epochs", "3") == 0
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in rs]  # noqa: E731
    assert strip(read_metrics(split)) == strip(read_metrics(straight))
    assert "val_miou" in read_metrics(split)[-1]


# Folders of images and masks
def test_a_folder_of_images_and_masks_trains_as_its_npz_does(tmp_path, capsys):
    x, y = drawn(48)
    root = write_folder(tmp_path / "data", x, y)
    (root / "classes.txt").write_text("background\ncircle\nsquare\n")
    want = Want((32, 32, 3), 0, 0, task="segment", output=(32, 32, 3), output_line=OUTPUT_LINE)
    found = load(str(root), want)
    assert np.array_equal(found.y, y) and np.allclose(found.x, np.round(x * 255) / 255, atol=1e-6)
    assert found.class_names == ["background", "circle", "square"] and found.x_val is None
    assert train(tmp_path, "--data", str(root), "--out", str(tmp_path / "run"), "--epochs", "1") == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["class_names"] == ["background", "circle", "square"]
    capsys.readouterr()
    assert main(["val", str(tmp_path / "run"), "--data", str(root), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in found["per_class"]] == ["background", "circle", "square"]
    assert found["samples"].startswith("the run's held-out split")


def test_train_and_val_folders_and_the_courses_names(tmp_path):
    x, y = drawn(30)
    write_folder(tmp_path / "split" / "train", x[:20], y[:20])
    write_folder(tmp_path / "split" / "val", x[20:], y[20:])
    write_folder(tmp_path / "course", x, y, "CameraRGB", "CameraMask")
    want = Want((32, 32, 3), 0, 0, task="segment", output=(32, 32, 3), output_line=OUTPUT_LINE)
    split = load(str(tmp_path / "split"), want)
    assert len(split.y) == 20 and split.y_val is not None and np.array_equal(split.y_val, y[20:])
    assert np.array_equal(load(str(tmp_path / "course"), want).y, y)


def test_resize_scales_masks_by_nearest_neighbour(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "big"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    masks = rng.integers(0, 3, (3, 45, 50)).astype(np.uint8)
    for i, m in enumerate(masks):
        Image.fromarray(rng.integers(0, 256, (45, 50, 3), dtype=np.uint8)).save(root / "images" / f"{i}.jpg")
        Image.fromarray(m).save(root / "masks" / f"{i}.png")
    want = Want((32, 32, 3), 0, 0, resize=True, task="segment", output=(32, 32, 3), output_line=OUTPUT_LINE)
    found = load(str(root), want)
    expected = [np.asarray(Image.fromarray(m).resize((32, 32), Image.Resampling.NEAREST)) for m in masks]
    assert np.array_equal(found.y, np.stack(expected)) and found.x.shape == (3, 32, 32, 3)


def _unpaired(root: Path) -> None:
    for i in (0, 3, 5):
        (root / "masks" / f"{i:04}.png").unlink()


def _orphan_mask(root: Path) -> None:
    (root / "images" / "0002.png").unlink()


def _small_mask(root: Path) -> None:
    Image.fromarray(np.zeros((20, 24), np.uint8)).save(root / "masks" / "0004.png")


def _class_too_high(root: Path) -> None:
    Image.fromarray(np.full((32, 32), 7, np.uint8)).save(root / "masks" / "0001.png")


def _black_and_white(root: Path) -> None:
    Image.fromarray(np.where(np.arange(32 * 32).reshape(32, 32) % 2, 255, 0).astype(np.uint8)).save(
        root / "masks" / "0001.png")


def _small_image(root: Path) -> None:
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / "images" / "0003.png")


def _names(root: Path) -> None:
    (root / "classes.txt").write_text("sky\nroad\n")


def _no_layout(root: Path) -> None:
    (root / "masks").rename(root / "labels")


def _twice(root: Path) -> None:
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "images" / "0001.jpg")


MISTAKES = [
    (_unpaired, ["image '", "0000.png' has no mask 0000.* in '", "(nor have 2 more images)",
                 "paired by the file name"]),
    (_orphan_mask, ["mask '", "0002.png' has no image 0002.* in '"]),
    (_small_mask, ["mask '", "0004.png' is 20x24 but the spec's output is 32x32x3 (line 21)", "--resize"]),
    (_class_too_high, ["0001.png' holds class id 7, but the spec scores 3 classes (ids 0..2", "line 21"]),
    (_black_and_white, ["holds class id 255", "it looks black and white (0 and 255)"]),
    (_small_image, ["image '", "0003.png' is 20x20 but the spec's input is 32x32x3", "--resize"]),
    (_names, ["classes.txt' names 2 classes but the spec scores 3", "line 21"]),
    (_no_layout, ["reads a folder holding `images/` and `masks/`", "holds images/, labels/"]),
    (_twice, ["0001.jpg' and '", "0001.png' are two images named '0001'"]),
]


@pytest.mark.parametrize(("spoil", "words"), MISTAKES, ids=[m[0].__name__.strip("_") for m in MISTAKES])
def test_every_data_mistake_is_named_before_anything_is_written(tmp_path, capsys, spoil, words):
    x, y = drawn(8)
    root = write_folder(tmp_path / "data", x, y)
    spoil(root)
    out = tmp_path / "run"
    assert train(tmp_path, "--data", str(root), "--out", str(out)) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(w in err for w in words), err
    assert not out.exists()


def test_npz_mistakes_name_the_spec_and_class_names_count(tmp_path, capsys):
    x, y = drawn(8)
    cases = [({"y": np.full_like(y, 3)}, "a mask holds class id 3"),
             ({"y": y[:, :16]}, "masks are N×32×32 class ids"),
             ({"class_names": np.array(["a", "b"])}, "the data names 2 classes (a, b) but the spec scores 3 (line 21)")]
    for change, words in cases:
        data = tmp_path / "bad.npz"
        np.savez(data, **{"x": x, "y": y, **change})
        assert train(tmp_path, "--data", str(data), "--out", str(tmp_path / "run")) != 0
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
        assert not (tmp_path / "run").exists()
