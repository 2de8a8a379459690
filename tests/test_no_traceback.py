"""Issue 9, second half: each of these printed a Python traceback; now each is a message.

Huge integers, paths that cannot be looked at, damaged data files, models and batches
too large for memory, damaged training state, a full disk, Ctrl-C inside torch's
import, and --threads 100000. Data files are made here, in tmp_path. Each test failed
on the code before the fix.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import specc
from specc.cli import main
from specc.errors import SpeccError
from specc.training.data import SpecIO, prepare

TINY = "model tiny\ninput 4x4x1\nconv 2 3x3 padding=same relu\nfc 3 softmax\n"
IO = SpecIO((4, 4, 1), input_line=2, outputs=3, output_line=4, binary=False)
ROOT = Path(__file__).resolve().parent.parent
LONG = "n" * 300  # longer than any file name may be: stat() fails with ENAMETOOLONG


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _spec(folder: Path, text: str = TINY, name: str = "t.cnn") -> Path:
    (folder / name).write_text(text)
    return folder / name


# --- integers of more than 4,300 digits --------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_an_integer_of_5000_digits_is_e106_in_every_format(tmp_path, capsys, fmt):
    spec = _spec(tmp_path, "input 8x8x1\nconv " + "9" * 5000 + " 3x3\nfc 2\n")
    assert main(["check", "-f", fmt, str(spec)]) == 1
    assert "E106" in capsys.readouterr().out


def test_compile_refuses_an_integer_of_5000_digits(tmp_path, capsys):
    spec = _spec(tmp_path, "input " + "7" * 5000 + "x8x1\nfc 2\n")
    assert main(["compile", str(spec)]) == 1
    assert "error[E106]: each input dimension has thousands of digits: far too large" in capsys.readouterr().err


# --- paths that cannot be looked at ---------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["check", "{long}"], ["compile", "{long}"], ["compile", "{spec}", "-o", "{long}.py"],
    ["train", "{long}", "--data", "digits"], ["train", "{spec}", "--data", "{long}.npz"],
    ["train", "{spec}", "--data", "synthetic:8", "--out", "{long}"], ["train", "{spec}", "--resume", "{long}"],
    ["export", "{long}", "-o", "{out}"], ["export", "{spec}", "-o", "{long}.onnx"],
    ["export", "{ckpt}", "-o", "{out}", "--spec", "{long}"],
])
def test_a_name_too_long_is_an_error_in_every_command(tmp_path, capsys, argv):
    (tmp_path / "x.pt").write_bytes(b"PK\x03\x04")
    values = {"long": str(tmp_path / LONG), "spec": str(_spec(tmp_path)), "out": str(tmp_path / "m.onnx"),
              "ckpt": str(tmp_path / "x.pt")}
    assert main([a.format(**values) for a in argv]) in (1, 2)
    err = capsys.readouterr().err
    assert "File name too long" in err
    assert LONG not in err and "characters)" in err  # a long path is shown by its start and its end


@pytest.fixture
def unprivileged() -> Iterator[Path]:
    """A folder everyone can enter, and (for root) a context in which permissions apply."""
    base = Path(tempfile.mkdtemp(prefix="specc-perm-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        for folder in base.rglob("*"):
            if folder.is_dir():
                folder.chmod(0o755)
        shutil.rmtree(base)


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    if os.geteuid() != 0:  # permissions already apply
        yield
        return
    # What the command will import from the standard library (root's, perhaps unreadable to nobody) is
    # imported first, as it would have been readable to the user who installed it.
    import codecs

    codecs.lookup("utf-8-sig")
    with tempfile.TemporaryDirectory() as folder:  # the whole path of a folder check, once, as root
        Path(folder, "warm.cnn").write_text("input 4\nfc 2\n")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["check", "-q", folder])
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_permission_denied_paths_and_a_read_only_out_folder(unprivileged, capsys, monkeypatch):
    monkeypatch.chdir(unprivileged)
    spec = _spec(unprivileged)
    spec.chmod(0o644)
    (unprivileged / "closed").mkdir(mode=0o000)
    (unprivileged / "read-only").mkdir(mode=0o555)
    hidden = str(unprivileged / "closed" / "x.cnn")
    warm = tempfile.mkdtemp()  # a run as root first: the modules imported lazily (numpy.random...) come from
    assert main(["train", str(spec), "--data", "synthetic:8", "--out", warm + "/run", "-q", "--epochs", "1"]) == 0
    shutil.rmtree(warm)  # site-packages, which nobody may not be able to read
    with as_nobody():
        for argv in (["check", hidden], ["train", str(spec), "--data", "synthetic:8", "--resume", hidden],
                     ["export", hidden, "-o", "m.onnx"], ["compile", str(spec), "-o", hidden[:-4] + ".py"]):
            assert main(argv) == 2, argv
            assert "Permission denied" in capsys.readouterr().err
        assert main(["train", str(spec), "--data", "synthetic:8", "--out", "read-only", "-q"]) == 2
    assert "cannot write in run directory 'read-only': Permission denied" in capsys.readouterr().err


def test_check_reports_unreadable_sub_folders(unprivileged, capsys):
    (unprivileged / "specs" / "locked").mkdir(parents=True)
    _spec(unprivileged / "specs")
    _spec(unprivileged / "specs" / "locked", name="hidden.cnn")
    (unprivileged / "specs" / "locked").chmod(0o000)
    with as_nobody():
        assert main(["check", "-q", str(unprivileged / "specs")]) == 2
    out, err = capsys.readouterr()
    assert f"specc: error: cannot read folder '{unprivileged / 'specs' / 'locked'}': Permission denied" in err
    assert "t.cnn: ok" not in out  # -q: quiet about clean specs, but the readable one was checked


# --- damaged data files -------------------------------------------------------------------------------------

def _refused(source: Path, match: str) -> None:
    with pytest.raises(SpeccError, match=match):
        prepare(str(source), IO, val=0.2, seed=0)


def test_an_npz_member_with_a_bad_crc(tmp_path):
    x = np.random.default_rng(0).random((20, 4, 4, 1), dtype=np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(20) % 3)
    data = bytearray((tmp_path / "d.npz").read_bytes())
    data[data.index(x.tobytes()[:16]) + 3] ^= 0xFF  # one byte of x's values, inside the archive
    (tmp_path / "d.npz").write_bytes(bytes(data))
    _refused(tmp_path / "d.npz", r"cannot read .*d\.npz' as an \.npz archive \(damaged\?\): Bad CRC-32")


def test_hdf5_with_latin1_class_names_or_an_empty_train_set(tmp_path):
    x, y = np.zeros((20, 4, 4, 1), np.uint8), np.arange(20) % 3
    with h5py.File(tmp_path / "names.h5", "w") as f:
        f["train_set_x"], f["train_set_y"] = x, y
        f["list_classes"] = np.array([b"cat", b"chien", b"\xe9l\xe9phant"])
    _refused(tmp_path / "names.h5", r"class name 3 in `list_classes` is not UTF-8 text")
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f.create_dataset("train_set_x", data=h5py.Empty("f"))
        f["train_set_y"] = y
    _refused(tmp_path / "empty.h5", r"`train_set_x` is empty \(an HDF5 dataset with no data\)")


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a huge size (the pixels are never there): a decompression bomb to PIL."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_decompression_bomb_and_a_fifo_in_an_image_folder(tmp_path):
    from PIL import Image

    for name in "abc":
        (tmp_path / "ds" / name).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "ds" / name / "0.png")
    (tmp_path / "ds" / "b" / "bomb.png").write_bytes(_png_header(40_000, 40_000))
    _refused(tmp_path / "ds", r"cannot read image .*bomb\.png'.*decompression bomb")
    (tmp_path / "ds" / "b" / "bomb.png").unlink()
    os.mkfifo(tmp_path / "ds" / "c" / "1.png")  # opening it would wait for a writer forever
    def hung(signum, frame):
        raise TimeoutError("reading the image folder hung on its FIFO")

    previous = signal.signal(signal.SIGALRM, hung)  # a hang fails this test instead of stalling the suite
    signal.alarm(60)
    try:
        _refused(tmp_path / "ds", r"1\.png' is a FIFO \(named pipe\), not an image file")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- too large for memory -------------------------------------------------------------------------------

# 2.1e9 inputs into 100,000 units: 8.6e14 bytes of weights, more than any address space, so the
# allocator fails at once without touching memory.
HUGE = "model huge\ninput 46340x46340x1\nfc 100000\n"


def test_a_model_too_large_for_memory_in_build_and_train(tmp_path, capsys):
    with pytest.raises(SpeccError, match=r"out of memory building 'huge' \(214,739,560,100,000 parameters\)"):
        specc.build(HUGE)
    spec = _spec(tmp_path, HUGE, "huge.cnn")
    assert main(["train", str(spec), "--data", "synthetic:2", "-q", "--out", str(tmp_path / "run")]) == 1
    assert "specc: error: out of memory building 'huge'" in capsys.readouterr().err


def test_export_refuses_from_the_figures_before_building(tmp_path, capsys):
    spec = _spec(tmp_path, HUGE, "huge.cnn")
    assert main(["export", str(spec), "-o", str(tmp_path / "m.onnx")]) == 1
    assert "GiB of weights; a single-file ONNX model holds at most 2 GiB" in capsys.readouterr().err
    assert main(["export", str(_spec(tmp_path)), "-o", str(tmp_path / "m.onnx"), "--batch", str(2**31 - 1)]) == 2
    assert "use a smaller --batch" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.cnn", "t.cnn"]


# --- damaged training state, a full disk -------------------------------------------------------------------

@pytest.mark.parametrize("damage", [
    lambda p: p["meta"]["config"].pop("train"),
    lambda p: p["meta"]["config"]["train"].update(lr="fast"),
    lambda p: p["extra"]["history"][0].update(train_loss="low"),
    lambda p: p["extra"].update(history={"epoch": 1}),
    lambda p: p["extra"].update(best=[1, 2]),
])
def test_resume_refuses_damaged_unhashed_metadata(tmp_path, capsys, damage):
    spec, out = _spec(tmp_path), tmp_path / "run"
    assert main(["train", str(spec), "--data", "synthetic:32", "--out", str(out), "--epochs", "1", "-q"]) == 0
    payload = torch.load(out / "last.pt", weights_only=True)
    damage(payload)
    torch.save(payload, out / "last.pt")  # a fresh file: its zip CRCs are right, only the content is wrong
    assert main(["train", str(spec), "--resume", str(out), "--epochs", "2", "-q"]) == 1
    assert "training state is damaged" in capsys.readouterr().err


def test_a_full_disk_while_torch_writes_the_first_checkpoint(tmp_path):
    def small_files() -> None:  # 40 kB files at most: the checkpoint (~80 kB) fails half-written
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    _spec(tmp_path, "model big\ninput 8x8x1\nconv 16 3x3 relu\nfc 10 softmax\n", "big.cnn")
    done = subprocess.run([sys.executable, "-m", "specc", "train", "big.cnn", "--data", "synthetic:64", "--out",
                           "run", "-q"], cwd=tmp_path, env=_env(), preexec_fn=small_files, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot write checkpoint 'run/last.pt': the write failed; is the disk full?" in done.stderr
    assert "no epoch finished, so no checkpoint was written" in done.stderr
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", "spec.cnn"]


def test_a_full_disk_in_epoch_2_names_the_file_and_the_last_good_epoch(tmp_path, capsys, monkeypatch):
    import specc.files

    real, spec, out = specc.files.os.replace, _spec(tmp_path), tmp_path / "run"

    def full_in_epoch_2(source, target):
        if Path(target).name == "metrics.jsonl" and (out / "metrics.jsonl").exists():
            raise OSError(28, "No space left on device")
        return real(source, target)

    monkeypatch.setattr(specc.files.os, "replace", full_in_epoch_2)
    assert main(["train", str(spec), "--data", "synthetic:32", "--out", str(out), "--epochs", "3", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write '{out / 'metrics.jsonl'}': No space left on device; the last finished epoch (2)" in err
    assert not list(out.glob(".*.tmp"))


# --- Ctrl-C inside torch's import; --threads ----------------------------------------------------------------

HOOK = """
import os, runpy, signal, sys
class Interrupt:  # one real SIGINT, delivered while MODULE is being imported
    sent = False
    def find_spec(self, name, path=None, target=None):
        if name == "MODULE" and not Interrupt.sent:
            Interrupt.sent = True
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, Interrupt())
sys.argv = ["specc", *ARGV]
runpy.run_module("specc", run_name="__main__")  # python -m specc ...
"""


# Its block reads without Lark (specc.syntax.plain); its mistake, `(2)`, is Lark's to report.
BLOCK = "input 4x4x1\nblock b(f) {\n    conv f 3x3 p=same\n}\nb (2)\nfc 3\n"


@pytest.mark.parametrize("module, argv", [
    ("numpy", ["train", "t.cnn", "--data", "synthetic:8", "-q"]),  # imported by torch: was swallowed, exit 0
    ("specc.record", ["check", "t.cnn"]),  # imported by `import specc.pipeline` (once dataclasses): was a traceback
    ("lark", ["check", "b.cnn"]),  # imported for a line the plain reader leaves to Lark: was a traceback
])
def test_ctrl_c_during_the_first_imports_is_an_interruption(tmp_path, module, argv):
    _spec(tmp_path)
    _spec(tmp_path, BLOCK, "b.cnn")
    hook = HOOK.replace("MODULE", module).replace("ARGV", repr(argv))
    done = subprocess.run([sys.executable, "-c", hook], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "specc: interrupted" and not (tmp_path / "runs").exists()


def test_threads_are_bounded(tmp_path, capsys):
    assert main(["train", str(_spec(tmp_path)), "--data", "synthetic:8", "--threads", "100000", "-q"]) == 2
    assert "--threads 100000: give 1 to" in capsys.readouterr().err
