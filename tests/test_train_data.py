"""Data sources for `specc train --data`, their documented scaling, and the checks against the spec."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from specc.errors import SpeccError
from specc.training.data import SpecIO, prepare

IMAGES = SpecIO((4, 5, 3), input_line=2, outputs=3, output_line=6, binary=False)


def _io(shape, outputs=3, binary=False) -> SpecIO:
    return SpecIO(tuple(shape), 2, outputs, 6, binary)


def test_digits_are_scaled_to_unit_range_and_split_by_seed():
    io = _io((8, 8, 1), 10)
    split = prepare("digits", io, val=0.25, seed=3)
    assert split.x.shape[1:] == (1, 8, 8) and len(split.x) + len(split.x_val) == 1797
    assert len(split.x_val) == round(0.25 * 1797) and split.class_names == [str(d) for d in range(10)]
    assert split.x.min() == 0 and split.x.max() == 1 and split.x.dtype == torch.float32
    from sklearn.datasets import load_digits

    raw = torch.from_numpy(load_digits().images).float() / 16  # the documented scaling, nothing else
    found = {tuple(im.flatten().tolist()) for im in raw}
    assert all(tuple(im.flatten().tolist()) in found for im in split.x_val[:20])
    again = prepare("digits", io, val=0.25, seed=3)
    assert torch.equal(again.y_val, split.y_val) and not torch.equal(prepare("digits", io, 0.25, 4).y_val, split.y_val)


def test_digits_flatten_for_a_vector_input():
    split = prepare("digits", _io((64,), 10), val=0.1, seed=0)
    assert split.x.shape[1:] == (64,)


def test_synthetic_follows_the_spec_and_the_seed():
    split = prepare("synthetic:90", IMAGES, val=0.2, seed=1)
    assert split.x.shape == (72, 3, 4, 5) and len(split.x_val) == 18 and set(split.y.tolist()) == {0, 1, 2}
    assert torch.equal(prepare("synthetic:90", IMAGES, 0.2, 1).x, split.x)


def test_npz_uint8_is_divided_by_255_and_validation_is_used(tmp_path):
    x = np.arange(6 * 4 * 5 * 3, dtype=np.uint8).reshape(6, 4, 5, 3)
    np.savez(tmp_path / "d.npz", x=x, y=[0, 1, 2, 0, 1, 2], x_val=x[:2], y_val=[2, 1],
             class_names=np.array(["cat", "dog", "eel"]))
    split = prepare(str(tmp_path / "d.npz"), IMAGES, val=0.5, seed=0)
    expected = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255  # NHWC -> NCHW, /255
    assert torch.equal(split.x, expected) and split.y.tolist() == [0, 1, 2, 0, 1, 2]
    assert torch.equal(split.x_val, expected[:2]) and split.y_val.tolist() == [2, 1]
    assert split.class_names == ["cat", "dog", "eel"] and "validation set" in split.held_out


def test_npz_float_is_used_as_is_and_grayscale_gets_a_channel(tmp_path):
    x = np.random.default_rng(0).standard_normal((10, 4, 5)).astype(np.float32) * 40
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(10) % 3)
    split = prepare(str(tmp_path / "d.npz"), _io((4, 5, 1)), val=0.2, seed=0)
    together = torch.cat([split.x, split.x_val])[:, 0]
    assert sorted(together.flatten().tolist()) == sorted(torch.from_numpy(x).flatten().tolist())


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.zeros((4, 4, 5, 3), np.int32), y=[0, 1, 2, 0]), "dtype int32; use uint8"),
    (dict(x=np.zeros((4, 4, 5, 3), np.uint8)), "no array 'y'"),
    (dict(x=np.zeros((4, 6, 5, 3), np.uint8), y=[0, 1, 2, 0]),
     "data images are 6x5x3 but the spec's input is 4x5x3 (line 2)"),
    (dict(x=np.zeros((4, 4, 5, 3), np.uint8), y=[0, 1, 2, 11]),
     "labels have 12 classes (0..11) but the spec outputs 3 (line 6)"),
    (dict(x=np.zeros((4, 4, 5, 3), np.uint8), y=[0, 1, 2]), "4 samples but 3 labels"),
    (dict(x=np.zeros((4, 4, 5, 3), np.uint8), y=[0, 1, 2, -1]), "negative label"),
    (dict(x=np.zeros((4, 4, 5, 3), np.uint8), y=[0, 1, 2, 0], x_val=np.zeros((1, 4, 5, 3), np.uint8)), "only one of"),
])
def test_npz_problems_are_named(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(SpeccError) as err:
        prepare(str(tmp_path / "d.npz"), IMAGES, val=0.5, seed=0)
    assert message in err.value.message


def test_npz_with_pickled_objects_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.array([{"evil": 1}], dtype=object), y=[0])
    with pytest.raises(SpeccError, match="cannot read"):
        prepare(str(tmp_path / "d.npz"), IMAGES, val=0.5, seed=0)


def _images(root, sizes: dict[str, list[tuple[int, int]]], mode="RGB"):
    for index, (name, shapes) in enumerate(sizes.items()):
        (root / name).mkdir(parents=True)
        for i, (h, w) in enumerate(shapes):
            pixels = np.full((h, w, 3), 40 * index + i, dtype=np.uint8)
            Image.fromarray(pixels).convert(mode).save(root / name / f"{i}.png")


def test_image_folder_classes_are_sorted_names_and_pixels_divided_by_255(tmp_path):
    _images(tmp_path / "imgs", {"zebra": [(4, 5)] * 3, "ant": [(4, 5)] * 2, "bee": [(4, 5)] * 2})
    (tmp_path / "imgs" / "ant" / "notes.txt").write_text("ignored")
    split = prepare(str(tmp_path / "imgs"), IMAGES, val=0.3, seed=0)
    assert split.class_names == ["ant", "bee", "zebra"] and len(split.x) + len(split.x_val) == 7
    x, y = torch.cat([split.x, split.x_val]), torch.cat([split.y, split.y_val])
    for xi, yi in zip(x, y):  # zebra (index 2) was written with value 40*0 + i, ant with 40*1 + i
        written, pixels = {0: 40, 1: 80, 2: 0}[int(yi)], xi * 255
        assert torch.allclose(pixels, pixels.round(), atol=1e-4)
        assert written <= round(float(pixels.max())) <= written + 2


def test_image_folder_size_mismatch_asks_for_resize(tmp_path):
    _images(tmp_path / "imgs", {"a": [(8, 10)], "b": [(8, 10)], "c": [(8, 10)]})
    with pytest.raises(SpeccError, match="is 8x10 but the spec's input is 4x5x3; pass --resize"):
        prepare(str(tmp_path / "imgs"), IMAGES, val=0.3, seed=0)
    split = prepare(str(tmp_path / "imgs"), IMAGES, val=0.3, seed=0, resize=True)
    assert split.x.shape[1:] == (3, 4, 5)


def test_image_folder_grayscale_and_train_val_layout(tmp_path):
    _images(tmp_path / "ds" / "train", {"a": [(4, 5)] * 2, "b": [(4, 5)] * 2, "c": [(4, 5)] * 2})
    _images(tmp_path / "ds" / "val", {"b": [(4, 5)], "c": [(4, 5)]})
    split = prepare(str(tmp_path / "ds"), _io((4, 5, 1)), val=0.5, seed=0)
    assert split.x.shape == (6, 1, 4, 5) and split.y_val.tolist() == [1, 2] and split.class_names == ["a", "b", "c"]


def test_image_folder_class_count_must_match(tmp_path):
    _images(tmp_path / "imgs", {"a": [(4, 5)], "b": [(4, 5)]})
    with pytest.raises(SpeccError, match=r"the data has 2 classes \(a, b\) but the spec outputs 3 \(line 6\)"):
        prepare(str(tmp_path / "imgs"), IMAGES, val=0.5, seed=0)


def test_hdf5_in_the_course_layout(tmp_path):
    rng = np.random.default_rng(0)
    with h5py.File(tmp_path / "cats.h5", "w") as f:
        f["train_set_x"] = rng.integers(0, 256, (9, 4, 5, 3), dtype=np.uint8)
        f["train_set_y"] = (np.arange(9) % 2).reshape(1, 9)  # the course keeps labels as (1, m) too
        f["test_set_x"] = rng.integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
        f["test_set_y"] = np.array([1, 0, 1])
        f["list_classes"] = np.array([b"non-cat", b"cat"])
        expected = torch.from_numpy(f["train_set_x"][()]).permute(0, 3, 1, 2).float() / 255
    split = prepare(str(tmp_path / "cats.h5"), _io((4, 5, 3), outputs=1, binary=True), val=0.5, seed=0)
    assert torch.equal(split.x, expected) and split.y.tolist() == [0, 1] * 4 + [0]
    assert split.y_val.tolist() == [1, 0, 1] and split.class_names == ["non-cat", "cat"]
    with pytest.raises(SpeccError, match=r"has 2 classes \(non-cat, cat\) but the spec outputs 1 \(line 6\)"):
        prepare(str(tmp_path / "cats.h5"), _io((4, 5, 3), outputs=1, binary=False), val=0.5, seed=0)


def test_one_sigmoid_output_wants_labels_0_and_1(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 3), np.float32), y=[0, 1, 2, 1])
    with pytest.raises(SpeccError, match=r"labels have 3 classes \(0..2\) but the spec outputs 1 sigmoid unit"):
        prepare(str(tmp_path / "d.npz"), _io((3,), outputs=1, binary=True), val=0.5, seed=0)


@pytest.mark.parametrize("source, message", [
    ("nowhere.npz", "no such file or folder"), ("synthetic:x", "synthetic:N"), ("notes.txt", "unknown kind of file"),
])
def test_unknown_sources_are_usage_errors(tmp_path, monkeypatch, source, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(SpeccError, match=message) as err:
        prepare(source, IMAGES, val=0.5, seed=0)
    assert err.value.status == 2
