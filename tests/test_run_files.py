"""Files specc names itself inside a run folder: a symlink there is replaced, never written through.

A run folder may come from someone else (a download, a shared disk). A link in
it named like a run file (`val-confusion.png -> ~/notes.txt`) must not let
`specc val`, `specc export RUN` or `specc train --resume` overwrite the file it
points to. One tiny run is trained per module; each test works on its own copy.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from specc.cli import main
from specc.errors import SpeccError, WriteError
from specc.files import write_atomic, write_run_file
from specc.training.runlog import RUN_FILES

SPEC = """model blobs
input 8x8x1
conv 4 3x3 relu
fc 3 softmax
train batch=64 epochs=1 lr=0.02 seed=0
"""
SECRET = b"the user's own file, not specc's\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runfiles")
    (root / "blobs.cnn").write_text(SPEC)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    x = rng.integers(0, 60, (120, 8, 8, 1)).astype(np.uint8)
    x[y == 1, :, :4] += 150
    np.savez(root / "train.npz", x=x, y=y)
    assert main(["train", str(root / "blobs.cnn"), "--data", str(root / "train.npz"), "--out", str(root / "run"),
                 "--quiet"]) == 0
    return root


@pytest.fixture
def run(trained: Path, tmp_path: Path) -> Path:
    """A copy of the trained run, next to a folder `outside` for the files links point to."""
    shutil.copytree(trained / "run", tmp_path / "run")
    shutil.copy(trained / "blobs.cnn", tmp_path / "blobs.cnn")
    shutil.copy(trained / "train.npz", tmp_path / "train.npz")
    (tmp_path / "outside").mkdir()
    return tmp_path / "run"


def victim(folder: Path, name: str, content: bytes = SECRET) -> Path:
    path = folder / name
    path.write_bytes(content)
    path.chmod(0o600)
    return path


def link(run: Path, name: str, target: Path) -> None:
    (run / name).unlink(missing_ok=True)
    (run / name).symlink_to(os.path.relpath(target, run))


def assert_untouched(path: Path, content: bytes = SECRET) -> None:
    assert path.read_bytes() == content
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def assert_replaced(path: Path, magic: bytes) -> None:
    """The run file is now a regular file of its own, holding what specc wrote."""
    assert not path.is_symlink() and path.is_file()
    assert path.read_bytes().startswith(magic)


def test_val_replaces_a_linked_figure_and_leaves_its_target(run: Path, capsys) -> None:
    target = victim(run.parent / "outside", "notes.txt")
    link(run, "val-confusion.png", target)
    assert main(["val", str(run)]) == 0
    assert f"wrote {run / 'val-confusion.png'}" in capsys.readouterr().out
    assert_untouched(target)
    assert_replaced(run / "val-confusion.png", b"\x89PNG")


def test_export_of_a_run_replaces_a_linked_onnx_file_and_leaves_its_target(run: Path, capsys) -> None:
    target = victim(run.parent / "outside", "notes.txt")
    link(run, "blobs.onnx", target)
    assert main(["export", str(run)]) == 0
    assert f"wrote {run / 'blobs.onnx'}" in capsys.readouterr().out
    assert_untouched(target)
    assert_replaced(run / "blobs.onnx", b"\x08")  # an ONNX ModelProto starts with its ir_version field


def test_export_with_o_still_writes_through_a_link_the_user_named(run: Path, capsys) -> None:
    real = run.parent / "outside" / "model.onnx"
    real.write_bytes(b"old")
    (run.parent / "chosen.onnx").symlink_to(real)
    assert main(["export", str(run), "-o", str(run.parent / "chosen.onnx")]) == 0
    assert (run.parent / "chosen.onnx").is_symlink() and real.read_bytes().startswith(b"\x08")


def test_resume_replaces_every_linked_run_file_and_leaves_their_targets(run: Path, capsys) -> None:
    outside = run.parent / "outside"
    targets = {}
    written = {name for name in RUN_FILES if (run / name).exists()}  # a classifier's: no other task's pictures
    for name in sorted(written - {".specc.lock", "val-confusion.png", "val-misclassified.png"}):
        # last.pt and best.pt must still be read through their links: their targets are real checkpoints
        content = (run / name).read_bytes() if name.endswith(".pt") else SECRET
        targets[name] = (victim(outside, f"{name}.mine", content), content)
        link(run, name, targets[name][0])
    assert main(["train", str(run.parent / "blobs.cnn"), "--data", str(run.parent / "train.npz"),
                 "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    for name, (target, content) in targets.items():
        assert_untouched(target, content)
        assert name == "best.pt" or not (run / name).is_symlink(), name  # best.pt is written only if improved
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    assert not list(outside.glob(".*.tmp")) and sorted(p.name for p in outside.iterdir()) == sorted(
        f"{n}.mine" for n in targets)  # no temporary file was made beside a link's target either


def test_a_checkpoint_saved_over_a_link_replaces_the_link(run: Path) -> None:
    from specc.runtime.checkpoint import load_model, save_checkpoint

    module, meta = load_model(run)
    target = victim(run.parent / "outside", "notes.txt")
    link(run, "last.pt", target)
    save_checkpoint(run / "last.pt", module, meta)
    assert_untouched(target)
    assert_replaced(run / "last.pt", b"PK")


# --- specc.files: the two rules, side by side ------------------------------------------------------------


def test_write_run_file_replaces_a_link_even_a_dangling_one(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    write_run_file(tmp_path, "dangling", lambda h: h.write(b"new"))
    assert not (tmp_path / "dangling").is_symlink() and (tmp_path / "dangling").read_bytes() == b"new"
    assert not (tmp_path / "nowhere").exists()


def test_write_atomic_follows_a_link_and_write_run_file_does_not(tmp_path: Path) -> None:
    target = victim(tmp_path, "target")
    (tmp_path / "named").symlink_to("target")
    (tmp_path / "picked").symlink_to("target")
    write_run_file(tmp_path, "picked", lambda h: h.write(b"run file"))
    assert_untouched(target)
    write_atomic(tmp_path / "named", lambda h: h.write(b"named by the user"))
    assert target.read_bytes() == b"named by the user" and (tmp_path / "named").is_symlink()


def test_write_run_file_refuses_what_is_not_a_file_or_a_link(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    for name, words in (("fifo", r"a FIFO \(named pipe\)"), ("folder", "a folder")):
        with pytest.raises(SpeccError, match=f"cannot write '.*{name}': it is {words}, not a regular file"):
            write_run_file(tmp_path, name, lambda h: h.write(b"x"))
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode) and (tmp_path / "folder").is_dir()
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_run_file_takes_a_plain_name_only(tmp_path: Path) -> None:
    for name in ("../escape", "a/b", "..", ""):
        with pytest.raises(ValueError, match="a run file is a plain name"):
            write_run_file(tmp_path, name, lambda h: h.write(b"x"))


def test_write_run_file_keeps_a_regular_file_s_mode(tmp_path: Path) -> None:
    victim(tmp_path, "kept")
    write_run_file(tmp_path, "kept", lambda h: h.write(b"new"))
    assert_untouched(tmp_path / "kept", b"new")


def test_the_temporary_file_is_never_opened_through_a_planted_link(tmp_path: Path, monkeypatch) -> None:
    """The temporary name is created with O_EXCL: a link already there makes the write fail, not follow."""
    target = victim(tmp_path, "target")
    monkeypatch.setattr(os, "urandom", lambda n: b"\0" * n)
    (tmp_path / f".out.{os.getpid()}.00000000.tmp").symlink_to("target")
    with pytest.raises(WriteError, match="cannot write"):
        write_run_file(tmp_path, "out", lambda h: h.write(b"x"))
    assert_untouched(target)


def test_an_atomic_replace_gives_the_name_a_new_file_and_leaves_other_hard_links(tmp_path: Path) -> None:
    """Documented (docs/train.md, specc/files.py): a hard link to a run file keeps the old contents."""
    (tmp_path / "curves.png").write_bytes(b"old")
    os.link(tmp_path / "curves.png", tmp_path / "elsewhere")
    write_run_file(tmp_path, "curves.png", lambda h: h.write(b"new"))
    assert (tmp_path / "curves.png").read_bytes() == b"new" and (tmp_path / "elsewhere").read_bytes() == b"old"
