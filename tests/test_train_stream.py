"""Folders too big for memory: decoded once into the on-disk cache (specc.runtime.store) and read a
mini-batch at a time. The streamed path is held against the in-memory one on the same folders:
same tensors, same split, same training, same refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import specc.runtime.store as store
from specc.cli import main
from specc.errors import SpeccError
from specc.runtime.store import Stored
from specc.training.data import SpecIO, prepare
from specc.training.runlog import read_metrics

ROOT = Path(__file__).resolve().parent.parent
RGB = SpecIO((6, 7, 3), input_line=2, outputs=3, output_line=6, binary=False)


def _folder(root: Path, counts: dict[str, int], shape=(6, 7), mode="RGB", seed=0) -> Path:
    rng = np.random.default_rng(seed)
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
            Image.fromarray(pixels).convert(mode).save(root / name / f"{i:05d}.png")
    return root


@pytest.fixture
def streamed(tmp_path, monkeypatch):
    """Every folder streamed from a cache under tmp_path, by 2 decoding processes; the cache folder."""
    monkeypatch.setenv("SPECC_IN_MEMORY", "0")
    monkeypatch.setenv("SPECC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SPECC_WORKERS", "2")
    monkeypatch.setattr(store, "_LEAST", 8)  # small folders still get both processes
    return tmp_path / "cache" / "images"


def _in_memory(monkeypatch, source: str, io: SpecIO = RGB, **options):
    with monkeypatch.context() as m:
        m.delenv("SPECC_IN_MEMORY")
        return prepare(source, io, **options)


def test_a_streamed_folder_gives_the_tensors_of_a_folder_in_memory(tmp_path, streamed, monkeypatch):
    source = str(_folder(tmp_path / "imgs", {"b": 30, "a": 25, "c": 20}))
    held = _in_memory(monkeypatch, source, val=0.2, seed=3)
    split = prepare(source, RGB, val=0.2, seed=3)
    assert isinstance(split.x, Stored) and isinstance(split.x_val, Stored)
    assert isinstance(held.x, torch.Tensor) and isinstance(held.x_val, torch.Tensor)
    assert split.x.shape == held.x.shape and len(split.x_val) == len(held.x_val) == 15
    assert torch.equal(split.x[:], held.x) and torch.equal(split.x_val[:], held.x_val)
    assert torch.equal(split.y, held.y) and torch.equal(split.y_val, held.y_val)
    assert (split.class_names, split.scaling, split.held_out) == (held.class_names, held.scaling, held.held_out)
    picked = torch.tensor([5, 0, 59, 5, 17])
    assert torch.equal(split.x[picked], held.x[picked]) and split.x[picked].dtype == torch.float32
    assert torch.equal(split.x[3], held.x[3]) and torch.equal(split.x[-1], held.x[-1])
    assert torch.equal(split.x[10:33:2], held.x[10:33:2]) and split.x[7:7].shape == (0, 3, 6, 7)
    with pytest.raises(IndexError):
        split.x[torch.tensor([60])]
    monkeypatch.delattr(os, "preadv", raising=False)  # as on Windows: a seek and a read
    assert torch.equal(split.x[picked], held.x[picked]) and torch.equal(split.x[10:33], held.x[10:33])


def test_train_and_val_folders_and_grayscale_stream_as_they_load(tmp_path, streamed, monkeypatch):
    _folder(tmp_path / "ds" / "train", {"a": 12, "b": 10, "c": 11}, mode="L")
    _folder(tmp_path / "ds" / "val", {"b": 4, "c": 3}, mode="L", seed=1)
    gray = SpecIO((6, 7, 1), 2, 3, 6, False)
    held = _in_memory(monkeypatch, str(tmp_path / "ds"), gray, val=0.5, seed=0)
    split = prepare(str(tmp_path / "ds"), gray, val=0.5, seed=0)
    assert isinstance(split.x_val, Stored) and split.x.shape == (33, 1, 6, 7)
    assert torch.equal(split.x[:], held.x) and torch.equal(split.x_val[:], held.x_val)
    assert split.y_val.tolist() == held.y_val.tolist() == [1] * 4 + [2] * 3
    assert split.held_out == "the source's validation set"


def test_the_cache_is_read_again_and_made_anew_when_an_image_changes(tmp_path, streamed, monkeypatch):
    source = str(_folder(tmp_path / "imgs", {"a": 20, "b": 20, "c": 20}))
    prepare(source, RGB, val=0.2, seed=0)
    [first] = streamed.glob("*.npy")
    made = first.stat().st_mtime_ns

    def refuse(*args):
        raise AssertionError("decoded again")

    with monkeypatch.context() as m:
        m.setattr(store, "_decode_all", refuse)
        again = prepare(source, RGB, val=0.2, seed=0)  # the same files: read from the cache, not decoded
    assert isinstance(again.x, Stored) and again.x.path == first and first.stat().st_mtime_ns == made

    changed = tmp_path / "imgs" / "b" / "00003.png"
    Image.fromarray(np.full((6, 7, 3), 7, dtype=np.uint8)).save(changed)
    os.utime(changed, ns=(made + 10**9, made + 10**9))
    split = prepare(source, RGB, val=0.2, seed=0)
    assert split.x.path != first and len(list(streamed.glob("*.npy"))) == 2
    assert torch.equal(split.x[:], _in_memory(monkeypatch, source, val=0.2, seed=0).x)
    everything = prepare(source, RGB, val=0.2, seed=0).x
    row = 20 + 3  # b's fourth image, in the file's order (classes, then names)
    assert torch.equal(Stored(everything.path, everything.image, everything.offset, everything.count)[row],
                       torch.full((3, 6, 7), 7 / 255, dtype=torch.float32))


def test_a_killed_decode_leaves_no_cache_to_read(tmp_path, streamed, monkeypatch):
    """A decode killed half-way (SIGKILL: no cleanup runs) leaves only its .partial file, which no run reads;
    the next run decodes the folder whole, and removes the partial."""
    source = str(_folder(tmp_path / "imgs", {"a": 150, "b": 150}))
    script = textwrap.dedent(f"""
        import os, signal
        import specc.runtime.store as store
        from specc.training.data import SpecIO, prepare

        decode = store.decode_rows
        def killed(task, advance):  # the first chunk written, then killed
            decode(task, lambda n: os.kill(os.getpid(), signal.SIGKILL))
        store.decode_rows = killed
        prepare({source!r}, SpecIO((6, 7, 3), 2, 2, 6, False), val=0.2, seed=0)
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SPECC_WORKERS="1")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    assert not list(streamed.glob("*.npy")) and len(list(streamed.glob("*.partial"))) == 1
    two = SpecIO((6, 7, 3), 2, 2, 6, False)
    split = prepare(source, two, val=0.2, seed=0)
    assert torch.equal(split.x[:], _in_memory(monkeypatch, source, two, val=0.2, seed=0).x)
    assert not list(streamed.glob("*.partial")) and len(list(streamed.glob("*.npy"))) == 1


def test_a_cache_file_cut_short_is_not_read(tmp_path, streamed, monkeypatch):
    source = str(_folder(tmp_path / "imgs", {"a": 10, "b": 10, "c": 10}))
    first = prepare(source, RGB, val=0.2, seed=0).x
    assert isinstance(first, Stored)
    with open(first.path, "r+b") as f:
        f.truncate(first.path.stat().st_size - 1)
    split = prepare(source, RGB, val=0.2, seed=0)  # refused as a cache: decoded again
    assert torch.equal(split.x[:], _in_memory(monkeypatch, source, val=0.2, seed=0).x)


@pytest.mark.parametrize("workers", ["1", "3"])
def test_an_unreadable_image_is_refused_as_in_memory_the_first_in_file_order(tmp_path, streamed, monkeypatch,
                                                                               workers):
    monkeypatch.setenv("SPECC_WORKERS", workers)
    root = _folder(tmp_path / "imgs", {"a": 20, "b": 20, "c": 20})
    (root / "b" / "00004.png").write_bytes(b"not a png")
    (root / "c" / "00015.png").write_bytes(b"nor this")
    with pytest.raises(SpeccError) as memory:
        _in_memory(monkeypatch, str(root), val=0.2, seed=0)
    with pytest.raises(SpeccError) as streaming:
        prepare(str(root), RGB, val=0.2, seed=0)
    assert str(streaming.value) == str(memory.value) and "00004.png" in str(streaming.value)
    assert streaming.value.status == memory.value.status
    assert not list(streamed.glob("*.npy")) and not list(streamed.glob("*.partial"))


def test_a_size_mismatch_asks_for_resize_and_resize_is_part_of_the_key(tmp_path, streamed, monkeypatch):
    source = str(_folder(tmp_path / "imgs", {"a": 10, "b": 10, "c": 10}, shape=(9, 11)))
    with pytest.raises(SpeccError, match="is 9x11 but the spec's input is 6x7x3; pass --resize"):
        prepare(source, RGB, val=0.2, seed=0)
    split = prepare(source, RGB, val=0.2, seed=0, resize=True)
    assert torch.equal(split.x[:], _in_memory(monkeypatch, source, val=0.2, seed=0, resize=True).x)


@pytest.mark.parametrize(("name", "value"), [("SPECC_IN_MEMORY", "lots"), ("SPECC_WORKERS", "-2")])
def test_settings_that_are_not_whole_numbers_are_usage_errors(tmp_path, streamed, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    source = str(_folder(tmp_path / "imgs", {"a": 3, "b": 3, "c": 3}))
    with pytest.raises(SpeccError, match=rf"\${name} is '{value}'; expected a whole number") as found:
        prepare(source, RGB, val=0.2, seed=0)
    assert found.value.status == 2


def test_a_cache_folder_that_cannot_be_made_is_a_usage_error(tmp_path, streamed, monkeypatch):
    (tmp_path / "taken").write_text("a file, not a folder")
    monkeypatch.setenv("SPECC_CACHE", str(tmp_path / "taken"))
    source = str(_folder(tmp_path / "imgs", {"a": 3, "b": 3, "c": 3}))
    refusal = r"cannot make the image cache folder '.*taken/images'.*\$SPECC_CACHE"
    with pytest.raises(SpeccError, match=refusal) as found:
        prepare(source, RGB, val=0.2, seed=0)
    assert found.value.status == 2


def test_the_cache_folder_defaults_to_the_xdg_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("SPECC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.cache_root() == tmp_path / "xdg" / "specc"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert store.cache_root() == tmp_path / "home" / ".cache" / "specc"
    monkeypatch.setenv("SPECC_CACHE", str(tmp_path / "mine"))
    assert store.cache_root() == tmp_path / "mine"


SPEC = """model small
input 6x7x3
conv 4 3x3 relu
maxpool 2x2
fc 3 softmax
train batch=16 epochs=2 lr=0.01 seed=0
"""


def test_training_on_a_streamed_folder_is_the_training_on_it_in_memory(tmp_path, streamed, monkeypatch, capsys):
    """Same batches, same steps: the same losses, and the review figures (misclassified images read from
    the cache); `specc val` scores the streamed run as it scores one held in memory."""
    source = str(_folder(tmp_path / "imgs", {"a": 30, "b": 30, "c": 30}))
    (tmp_path / "small.cnn").write_text(SPEC)
    runs = {}
    for how in ("memory", "stream"):
        with monkeypatch.context() as m:
            if how == "memory":
                m.delenv("SPECC_IN_MEMORY")
            out = tmp_path / how
            assert main(["train", str(tmp_path / "small.cnn"), "--data", source, "--out", str(out), "--quiet",
                         "--device", "cpu"]) == 0
            capsys.readouterr()
            assert main(["val", str(out), "--format", "json"]) == 0
            runs[how] = (read_metrics(out), json.loads(capsys.readouterr().out), out)
    (memory, val_memory, _), (stream, val_stream, out) = runs["memory"], runs["stream"]
    assert [(r["train_loss"], r["val_loss"], r["val_acc"]) for r in stream] == \
        [(r["train_loss"], r["val_loss"], r["val_acc"]) for r in memory]
    assert val_stream["confusion"] == val_memory["confusion"] and val_stream["accuracy"] == val_memory["accuracy"]
    assert (out / "misclassified.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "val-misclassified.png").exists()


CHILD = """
import os, sys
import torch
from specc.training.data import SpecIO, prepare
def resident():  # resident memory now, KiB (Linux); a peak would keep whatever the imports reached
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
before = resident()  # torch and specc imported
split = prepare(sys.argv[1], SpecIO((32, 32, 3), 2, 2, 6, False), val=0.1, seed=0)
for start in range(0, len(split.x), 256):  # an epoch's reads: every image once
    batch = split.x[torch.arange(start, min(start + 256, len(split.x)))]
print(resident() - before)  # while the split, and the last batch, are alive
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/statm, as Linux gives it")
def test_memory_does_not_grow_with_the_number_of_images(tmp_path):
    """How much a process's resident memory rises when it loads 300, or 3,000, images of 32x32x3 and reads
    through them: no more for 3,000 when streamed; held in memory, by their pixels (so the check can fail)."""
    folders = [_folder(tmp_path / "small", {"a": 150, "b": 150}, shape=(32, 32)),
               _folder(tmp_path / "large", {"a": 1500, "b": 1500}, shape=(32, 32), seed=1)]

    def rise(in_memory: str) -> list[float]:
        """MiB resident memory rose by, for 300 and for 3,000 images."""
        env = dict(os.environ, PYTHONPATH=str(ROOT), SPECC_CACHE=str(tmp_path / "cache"), SPECC_WORKERS="2",
                   SPECC_IN_MEMORY=in_memory)
        return [int(subprocess.run([sys.executable, "-c", CHILD, str(folder)], env=env, capture_output=True,
                                   text=True, timeout=300, check=True).stdout) / 1024 for folder in folders]

    pixels = 3000 * 32 * 32 * 3 * 4 / 2**20  # the large folder's float32 pixels: 35.2 MiB
    small, large = rise("0")
    assert large < small + 0.25 * pixels, (small, large)
    small, large = rise("1000")
    assert large > small + pixels, (small, large)


ENCODER = """model encoder
input 6x7x3
conv 4 3x3 relu
fc 8
train task=embed loss=triplet
"""

PAIR = """model pair
a:  input 6x7x3
b:  input 6x7x3
    conv 4 3x3 relu from=a
ea: fc 8 relu
    conv 4 3x3 relu from=b
eb: fc 8 relu
    subtract ea eb
    abs
    fc 1 sigmoid
train task=embed loss=bce
"""


@pytest.mark.parametrize("text", [ENCODER, PAIR], ids=["encoder", "pair"])
def test_identities_stream_for_an_encoder_and_are_read_for_a_pair_network(tmp_path, streamed, monkeypatch, text):
    """An encoder's folder of identities stays in the cache; a pair network draws its pairs from the images,
    so its folder is read into memory: either way, the samples of the folder held in memory."""
    from specc.training.setup import load_spec, spec_io
    from specc.training.tasks import resolve

    (tmp_path / "net.cnn").write_text(text)
    io = spec_io(load_spec(tmp_path / "net.cnn"))
    task = resolve(io, "embed", None, 0.2)[0]
    source = str(_folder(tmp_path / "faces", {"ann": 6, "bob": 6, "cy": 6}))
    held = _in_memory(monkeypatch, source, io, val=0.3, seed=0, task=task)
    split = prepare(source, io, val=0.3, seed=0, task=task)
    assert isinstance(split.x, Stored) is (text == ENCODER)
    read = lambda x: tuple(t[:] for t in x) if isinstance(x, tuple) else x[:]  # noqa: E731
    for mine, theirs in ((read(split.x), held.x), (read(split.x_val), held.x_val), (split.y, held.y)):
        pairs = zip(mine, theirs) if isinstance(theirs, tuple) else [(mine, theirs)]
        assert all(torch.equal(a, b) for a, b in pairs)
