"""`specc train`, `val` and `predict` on a spec with several inputs (spec-io.md §1): an .npz holds
one array per input, keyed by its label; a pair network learns "same digit or not" from
scikit-learn's digits; every mistake in the data is named before training. Also: a spec
with several outputs is refused, and `--droppath R` overrides `train droppath=`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import specc
from specc.cli import main
from specc.errors import SpeccError
from specc.runtime.checkpoint import load_checkpoint, load_model
from specc.runtime.samples import Entry
from specc.training import Request, train
from specc.training.data import SpecIO, prepare
from specc.training.runlog import read_metrics
from specc.training.setup import spec_io, with_droppath

PAIRS = """model samedigit
a:      input 8x8x1
b:      input 8x8x1
        conv 8 3x3 p=same relu from=a
        maxpool 2
ea:     fc 32 relu
        conv 8 3x3 p=same relu from=b
        maxpool 2
eb:     fc 32 relu
        subtract ea eb
        abs
        fc 32 relu
        fc 2 softmax
train batch=32 epochs=6 lr=0.003 seed=0
"""
NAMES = ["different", "same"]
IO = SpecIO((8, 8, 1), 2, 2, 13, False, (Entry("a", (8, 8, 1), 2), Entry("b", (8, 8, 1), 3)))


def pairs(n: int, seed: int) -> dict[str, np.ndarray]:
    """Pairs of digits, half of them the same digit: `a` as uint8 pixels (0..240), `b` as floats in [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(digits.target), n)
    same = rng.random(n) < 0.5
    second = np.array([rng.choice(np.flatnonzero((digits.target == digits.target[i]) == s))
                       for i, s in zip(first, same)])
    return {"a": (digits.images[first] * 15).astype(np.uint8), "b": (digits.images[second] / 16).astype(np.float32),
            "y": same.astype(np.int64)}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pairs")
    (root / "pairs.cnn").write_text(PAIRS)
    np.savez(root / "train.npz", **pairs(2400, 0), class_names=np.array(NAMES))
    np.savez(root / "test.npz", **pairs(200, 1))
    assert main(["train", str(root / "pairs.cnn"), "--data", str(root / "train.npz"), "--out", str(root / "run"),
                 "--quiet", "--threads", "1"]) == 0
    return root


def test_a_pair_network_learns_same_digit_or_not(run: Path) -> None:
    history = read_metrics(run / "run")
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert max(r["val_acc"] for r in history) > 0.75  # chance is 0.5
    config = json.loads((run / "run" / "config.json").read_text())
    assert config["data"]["input_scaling"] == {"a": "uint8 divided by 255, to [0, 1]", "b": "float32 used as is"}
    assert config["data"]["class_names"] == NAMES


def test_the_checkpoint_records_every_input(run: Path) -> None:
    _, meta, _ = load_checkpoint(run / "run" / "best.pt")
    assert meta.input_names == ["a", "b"] and meta.input_shapes == [[1, 8, 8], [1, 8, 8]]
    assert meta.input_shape == [1, 8, 8] and meta.num_outputs == 2


def test_a_checkpoint_of_one_input_is_written_as_before(tmp_path: Path) -> None:
    (tmp_path / "one.cnn").write_text("input 8x8x1\nconv 4 3 relu\nfc 10 softmax\ntrain epochs=1\n")
    train(Request(tmp_path / "one.cnn", "digits", tmp_path / "run", quiet=True, threads=1))
    payload = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert "input_names" not in payload["meta"] and "input_shapes" not in payload["meta"]
    assert "input_scaling" not in json.loads((tmp_path / "run" / "config.json").read_text())["data"]


def _oracle(run: Path, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Probabilities straight from the checkpoint's module: a / 255, b as is, in the spec's order."""
    module, _ = load_model(run / "run")
    a = torch.from_numpy(arrays["a"].astype(np.float32) / 255)[:, None]
    b = torch.from_numpy(arrays["b"])[:, None]
    with torch.no_grad():
        return module(a, b).numpy()


def _predictions(capsys, *args: str) -> list[dict]:
    assert main(["predict", *args, "--format", "json", "--top", "2"]) == 0
    return json.loads(capsys.readouterr().out)["predictions"]


def test_predict_scores_pairs_from_an_npz_as_the_module_does(run: Path, capsys) -> None:
    test = dict(np.load(run / "test.npz"))
    expected = _oracle(run, test)
    found = _predictions(capsys, str(run / "run"), str(run / "test.npz"))
    assert len(found) == 200 and found[0]["input"].endswith("test.npz[0]")
    for row, p in zip(found, expected):
        best = row["top"][0]
        assert best["class"] == int(p.argmax()) and best["name"] == NAMES[best["class"]]
        assert best["probability"] == pytest.approx(float(p.max()), abs=1e-5)


def test_an_onnx_export_of_a_pair_network_predicts_the_same(run: Path, capsys) -> None:
    assert main(["export", str(run / "run"), "-o", str(run / "pairs.onnx")]) == 0
    capsys.readouterr()
    from_checkpoint = _predictions(capsys, str(run / "run"), str(run / "test.npz"))
    from_onnx = _predictions(capsys, str(run / "pairs.onnx"), str(run / "test.npz"))
    for c, o in zip(from_checkpoint, from_onnx):
        assert c["top"][0]["class"] == o["top"][0]["class"]
        assert c["top"][0]["probability"] == pytest.approx(o["top"][0]["probability"], abs=1e-4)


@pytest.mark.parametrize("arrays, message", [
    (lambda t: {"a": t["a"]}, "'{f}' has no array `b` for the spec's input b (line 3); it has: a"),
    (lambda t: {"a": t["a"], "b": t["b"][:5]}, "'{f}' b has 5 samples but a has 200; every input (here b, line 3)"),
    (lambda t: {"a": t["a"], "b": t["b"][:, :4]}, "'{f}' b holds samples of 4x8x1 but the spec's input b (line 3) is "
                                                  "8x8x1"),
])
def test_predict_names_the_file_the_key_and_the_input_s_line(run: Path, capsys, arrays, message) -> None:
    file = run / "bad.npz"
    np.savez(file, **arrays(dict(np.load(run / "test.npz"))))
    assert main(["predict", str(run / "run"), str(file)]) == 1
    assert message.format(f=file) in capsys.readouterr().err


def test_predict_refuses_an_image_for_a_model_of_several_inputs(run: Path, capsys) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), np.uint8)).save(run / "one.png")
    assert main(["predict", str(run / "run"), str(run / "one.png")]) == 2
    assert "one.png' is not an .npz; the model has 2 inputs (a, b), so its samples come in .npz files holding one " \
           "array per input, named by its label" in capsys.readouterr().err


def test_predict_warns_when_an_input_is_not_scaled_as_in_training(run: Path, capsys) -> None:
    test = dict(np.load(run / "test.npz"))
    np.savez(run / "floats.npz", a=test["a"].astype(np.float32), b=test["b"])  # a trained as uint8 / 255
    assert main(["predict", str(run / "run"), str(run / "floats.npz")]) == 0
    assert "floats.npz' a is float32 used as is, but the model's input a was trained on data scaled as " \
           "'uint8 divided by 255, to [0, 1]'" in capsys.readouterr().err


def test_val_scores_a_test_set_of_pairs(run: Path, capsys) -> None:
    assert main(["val", str(run / "run"), "--data", str(run / "test.npz"), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    test = dict(np.load(run / "test.npz"))
    expected = float((_oracle(run, test).argmax(1) == test["y"]).mean())
    assert found["samples"] == "every sample: 200" and found["accuracy"] == pytest.approx(expected)
    assert [Path(f).name for f in found["figures"]] == ["val-confusion.png"]  # no grid of single pictures


@pytest.mark.parametrize("arrays, message", [
    (dict(a=np.zeros((4, 8, 8), np.uint8), y=[0, 1, 0, 1]),
     "'{f}' has no array `b` for the spec's input b (line 3); it has: a, y"),
    (dict(x=np.zeros((4, 8, 8), np.uint8), y=[0, 1, 0, 1]), "has no array `a` for the spec's input a (line 2)"),
    (dict(a=np.zeros((4, 8, 8), np.uint8), b=np.zeros((4, 8, 8), np.uint8)), "'{f}' has no array `y`"),
    (dict(a=np.zeros((4, 8, 8), np.uint8), b=np.zeros((4, 4, 8), np.uint8), y=[0, 1, 0, 1]),
     "'{f}' b images are 4x8x1 but the spec's input b is 8x8x1 (line 3)"),
    (dict(a=np.zeros((4, 8, 8), np.uint8), b=np.zeros((3, 8, 8), np.uint8), y=[0, 1, 0, 1]),
     "'{f}' b has 3 samples but there are 4 labels; every input (here b, line 3) needs one sample per label"),
    (dict(a=np.zeros((4, 8, 8), np.uint8), b=np.zeros((4, 8, 8), np.int32), y=[0, 1, 0, 1]),
     "'{f}' b has dtype int32"),
    (dict(a=np.zeros((4, 8, 8)), b=np.full((4, 8, 8), np.nan), y=[0, 1, 0, 1]), "'{f}' b holds NaN"),
    (dict(a=np.zeros((4, 8, 8)), b=np.zeros((4, 8, 8)), y=[0, 1, 0, 1], a_val=np.zeros((1, 8, 8)), y_val=[0]),
     "'{f}' has a validation set without `b_val`; give every one of `a_val`, `b_val`, `y_val` or none"),
    (dict(a=np.zeros((4, 8, 8)), b=np.zeros((4, 8, 8)), y=[0, 1, 0, 1], a_val=np.zeros((1, 8, 8)),
          b_val=np.zeros((2, 8, 8)), y_val=[0]), "'{f}' b_val has 2 samples but there are 1 labels"),
    (dict(a=np.zeros((4, 8, 8)), b=np.zeros((4, 8, 8)), y=[0, 1, 0, 7]), "labels have 8 classes (0..7) but the spec "
                                                                         "outputs 2 (line 13)"),
])
def test_data_mistakes_are_named_with_the_file_the_key_and_the_input_s_line(tmp_path, arrays, message) -> None:
    file = tmp_path / "d.npz"
    np.savez(file, **arrays)
    with pytest.raises(SpeccError) as err:
        prepare(str(file), IO, val=0.5, seed=0)
    assert message.format(f=file) in err.value.message


def test_each_input_is_read_in_the_spec_s_layout_and_split_alike(tmp_path) -> None:
    a = np.arange(10 * 64, dtype=np.uint8).reshape(10, 8, 8)
    b = -np.arange(10 * 64, dtype=np.float32).reshape(10, 8, 8, 1)
    np.savez(tmp_path / "d.npz", a=a, b=b, y=np.arange(10) % 2)
    split = prepare(str(tmp_path / "d.npz"), IO, val=0.3, seed=0)
    assert isinstance(split.x, tuple) and [t.shape for t in split.x] == [(7, 1, 8, 8)] * 2
    assert [t.shape for t in split.x_val] == [(3, 1, 8, 8)] * 2 and len(split.y) == 7
    (xa, xb), (va, vb) = split.x, split.x_val
    # the same permutation for every input: sample i's a and b stay together
    for row_a, row_b in zip(torch.cat([xa, va]), torch.cat([xb, vb])):
        assert round(float(row_a[0, 0, 0]) * 255) == int(-row_b[0, 0, 0]) % 256
    assert split.scalings == {"a": "uint8 divided by 255, to [0, 1]", "b": "float32 used as is"}


def test_a_reserved_label_is_refused(tmp_path) -> None:
    io = SpecIO((8,), 2, 2, 5, False, (Entry("y", (8,), 2), Entry("b", (8,), 3)))
    np.savez(tmp_path / "d.npz", y=np.zeros(4), b=np.zeros((4, 8)))
    with pytest.raises(SpeccError, match=r"the spec's input `y` \(line 2\) has the name a data file gives to its "
                                         r"labels; relabel the input"):
        prepare(str(tmp_path / "d.npz"), io, val=0.5, seed=0)


@pytest.mark.parametrize("source", ["digits", "folder"])
def test_sources_of_one_image_per_sample_are_refused(tmp_path, source) -> None:
    if source == "folder":
        (tmp_path / "c").mkdir()
        source = str(tmp_path)
    with pytest.raises(SpeccError, match=r"gives one input per sample, but the spec has 2 inputs: a \(line 2\), "
                                         r"b \(line 3\); give an \.npz with one array per input"):
        prepare(source, IO, val=0.5, seed=0)


def test_synthetic_draws_every_input(tmp_path) -> None:
    split = prepare("synthetic:40", IO, val=0.25, seed=1)
    assert isinstance(split.x, tuple) and [t.shape for t in split.x] == [(30, 1, 8, 8)] * 2
    assert not torch.equal(split.x[0], split.x[1])


def test_the_library_takes_a_dict_of_arrays_by_label(tmp_path) -> None:
    data = pairs(300, 2)
    result = specc.train(PAIRS, ({"a": data["a"], "b": data["b"]}, data["y"]), out=tmp_path / "run", epochs=1,
                         quiet=True, threads=1)
    assert len(result.history) == 1
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["source"] == "arrays:a 300x8x8 uint8, b 300x8x8 float32"
    with pytest.raises(SpeccError, match=r"give x as a dict of arrays keyed by the input labels, \{'a': …, 'b': …\}"):
        specc.train(PAIRS, (data["a"], data["y"]), out=tmp_path / "r2", epochs=1, quiet=True)
    with pytest.raises(SpeccError, match=r"x\['b'\] has 3 samples but there are 300 labels"):
        specc.train(PAIRS, ({"a": data["a"], "b": data["b"][:3]}, data["y"]), out=tmp_path / "r3", quiet=True)
    with pytest.raises(SpeccError, match=r"x has an array for 'c', which is not one of the spec's inputs \(a, b\)"):
        specc.train(PAIRS, ({"a": data["a"], "b": data["b"], "c": data["b"]}, data["y"]), out=tmp_path / "r4",
                    quiet=True)
    with pytest.raises(SpeccError, match=r"give x as a dict of arrays \(a\), but the spec has one input \(line 1\)"):
        specc.train("input 8x8\nfc 2 softmax\n", ({"a": data["a"]}, data["y"]), out=tmp_path / "r5", quiet=True)


def test_a_spec_with_several_outputs_is_refused_before_training(tmp_path, monkeypatch) -> None:
    """The `output` statement comes with spec-io §2; Model.declared_outputs is its hook."""
    analysis = specc.check(PAIRS)
    several = analysis._replace(model=analysis.model._replace(declared_outputs=("ea", "eb")))
    message = r"the spec returns 2 outputs \(ea, eb\): specc train trains a network of one output"
    with pytest.raises(SpeccError, match=message):
        spec_io(several)
    import specc.training.run as running

    monkeypatch.setattr(running, "load_spec", lambda path: several)
    (tmp_path / "pairs.cnn").write_text(PAIRS)
    with pytest.raises(SpeccError, match=message):
        train(Request(tmp_path / "pairs.cnn", "synthetic:40", tmp_path / "run", quiet=True))
    assert not (tmp_path / "run").exists()


DROPPATH = """input 4x4x2
block res() {
  conv 2 1x1
  droppath
  add in
}
res repeat=3
droppath 0.05
fc 2 softmax
train epochs=1 droppath=0.1
"""


def _rates(analysis) -> list[float]:
    return [r.layer.rate for r in analysis.layers if r.layer.kind == "droppath"]


def test_droppath_flag_resolves_the_bare_rates_as_train_droppath_would() -> None:
    analysis = specc.check(DROPPATH)
    assert _rates(analysis) == [0.0, 0.05, 0.1, 0.05]
    again = with_droppath(analysis, 0.4)
    assert _rates(again) == _rates(specc.check(DROPPATH.replace("droppath=0.1", "droppath=0.4"))) == \
        [0.0, 0.2, 0.4, 0.05]
    assert again.model.train["droppath"] == 0.4 and "DropPath(0.4)" in specc.compile(again)
    assert with_droppath(analysis, 0.1) is analysis


def test_droppath_flag_overrides_the_spec_and_says_where_it_came_from(tmp_path, capsys) -> None:
    (tmp_path / "dp.cnn").write_text(DROPPATH)
    assert main(["train", str(tmp_path / "dp.cnn"), "--data", "synthetic:64", "--out", str(tmp_path / "run"),
                 "--droppath", "0.3", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "droppath  0.3        (--droppath)" in printed
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["droppath"] == 0.3 and config["origins"]["droppath"] == "--droppath"
    assert main(["train", str(tmp_path / "dp.cnn"), "--resume", str(tmp_path / "run"), "--epochs", "2",
                 "--droppath", "0.2", "--quiet"]) == 2
    assert "--droppath 0.2 differs from the run's droppath=0.3; a resumed run keeps" in capsys.readouterr().err


def test_droppath_flag_on_a_spec_without_a_bare_droppath_is_a_warning(tmp_path, capsys) -> None:
    (tmp_path / "plain.cnn").write_text("input 4x4x2\ndroppath 0.1\nfc 2 softmax\ntrain epochs=1\n")
    assert main(["train", str(tmp_path / "plain.cnn"), "--data", "synthetic:32", "--out", str(tmp_path / "run"),
                 "--droppath", "0.2", "--threads", "1"]) == 0
    assert "specc: warning: --droppath changes nothing here: it sets the rates of bare `droppath` lines, and the " \
           "spec has none" in capsys.readouterr().err


def test_torchrun_two_ranks_train_a_pair_network_and_one_process_resumes_it(tmp_path) -> None:
    """The DDP path: DistributedDataParallel forwards both inputs to logits(a, b); every mini-batch is split."""
    (tmp_path / "pairs.cnn").write_text(PAIRS.replace("epochs=6", "epochs=2"))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "specc", "train", "pairs.cnn", "--data", "synthetic:200", "--device", "cpu", "--quiet"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = tmp_path / "runs" / "samedigit"
    assert json.loads((run_dir / "config.json").read_text())["runtime"]["world_size"] == 2
    assert [r["epoch"] for r in read_metrics(run_dir)] == [1, 2]
    assert main(["train", str(tmp_path / "pairs.cnn"), "--resume", str(run_dir), "--epochs", "3", "--quiet"]) == 0
    assert [r["epoch"] for r in read_metrics(run_dir)] == [1, 2, 3]
