"""`specc predict`, `specc export` and `specc.predict` for every task (spec-tasks §1, `predict gives`):
segment masks and overlays, regress values, embed embeddings and verdicts, a pair network's verdicts.

Each task's run is trained once per module, one epoch on tiny arrays (`specc.train`); the
checkpoint's torch module is the oracle for the checkpoint path, and the checkpoint for the ONNX file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import specc
from specc.api.answers import Classification, Embeddings, Regression, Segmentation, Verification, distances
from specc.api.masks import palette
from specc.cli import main
from specc.runtime.checkpoint import load_checkpoint_model

SPECS = {
    "seg": "model seg\ninput 8x8x1\nconv 4 3x3 p=same relu\nconv 3 1x1\ntrain epochs=1 batch=16 lr=0.02\n",
    "reg": "model reg\ninput 8x8x1\nconv 4 3x3 relu\nfc 2\ntrain task=regress epochs=1 batch=16\n",
    "emb": "model emb\ninput 8x8x1\nconv 4 3x3 relu\nfc 8\ntrain task=embed epochs=1 batch=32\n",
    "pair": ("model pair\na: input 8x8x1\nb: input 8x8x1\nblock enc() {\n  conv 4 3x3 relu\n  fc 8\n}\n"
             "e1: enc from=a\ne2: enc from=b share=e1\n  subtract e1 e2\n  abs\n  fc 1 sigmoid\n"
             "train task=embed epochs=1 batch=32\n"),
    "cls": "model cls\ninput 8x8x1\nconv 4 3x3 relu\nfc 3 softmax\ntrain epochs=1 batch=16\n",
}


def data(name: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((60, 8, 8, 1)).astype(np.float32)
    if name == "seg":
        return x, (x[..., 0] * 3).astype(np.int64).clip(0, 2)
    if name == "reg":
        return x, np.stack([x.mean((1, 2, 3)), x.std((1, 2, 3))], 1).astype(np.float32)
    return x, np.repeat(np.arange(3), 20)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Every task's run, and its ONNX export beside it (RUN/NAME.onnx)."""
    root = tmp_path_factory.mktemp("tasks")
    found = {}
    for name, spec in SPECS.items():
        result = specc.train(spec, data(name), out=root / name, quiet=True)
        specc.export(result, root / name / f"{name}.onnx")
        found[name] = Path(result.run_dir)
    return found


def module_of(run: Path) -> tuple[torch.nn.Module, dict]:
    module, meta, _ = load_checkpoint_model(run / "best.pt")
    return module.eval(), meta.metrics


def samples(n: int = 5, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 8, 8, 1)).astype(np.float32)


def torch_out(module: torch.nn.Module, *xs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(*(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()) for x in xs)).numpy()


def cli(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


# --- segment ---------------------------------------------------------------------------------------------------


def test_segment_masks_are_the_argmax_of_the_module_and_the_onnx_file_agrees(runs) -> None:
    x = samples()
    module, _ = module_of(runs["seg"])
    want = torch_out(module, x).argmax(1)  # (N, H, W)
    found = specc.predict(runs["seg"], x)
    assert isinstance(found, Segmentation) and found.masks is not None and found.masks.shape == (5, 8, 8)
    assert (found.masks == want).all()
    fractions = np.stack([np.bincount(m.ravel(), minlength=3) / 64 for m in want])
    assert np.allclose(found.fractions, fractions) and np.allclose(found.fractions.sum(1), 1)
    onnx_found = specc.predict(runs["seg"] / "seg.onnx", x)
    assert (onnx_found.masks == want).all()


def test_segment_writes_a_mask_png_of_class_ids_and_an_overlay(runs, tmp_path, capsys) -> None:
    x = samples(3)
    np.savez(tmp_path / "x.npz", x=x)
    want = torch_out(module_of(runs["seg"])[0], x).argmax(1)
    out = tmp_path / "out"
    status, text, _ = cli(capsys, "predict", runs["seg"], tmp_path / "x.npz", "--out", out)
    assert status == 0
    for i in range(3):
        mask, over = out / f"x-{i}.mask.png", out / f"x-{i}.overlay.png"
        assert f"{mask}, {over}" in text
        with Image.open(mask) as image:
            assert image.mode == "L" and (np.asarray(image) == want[i]).all()
        with Image.open(over) as image:
            pixels = np.asarray(image)
        assert image.mode == "RGB" and pixels.shape == (8, 8, 3)
        gray = np.round(x[i, ..., 0] * 255)[..., None]
        assert np.abs(pixels - (0.55 * gray + 0.45 * palette(3)[want[i]])).max() <= 1


def test_segment_json_gives_pixel_fractions_and_files(runs, tmp_path, capsys) -> None:
    np.savez(tmp_path / "x.npz", x=samples(2))
    status, text, _ = cli(capsys, "predict", runs["seg"] / "seg.onnx", tmp_path / "x.npz", "--out", tmp_path / "o",
                          "--format", "json")
    found = json.loads(text)
    assert status == 0 and found["task"] == "segment" and found["classes"] == 3
    row = found["predictions"][0]
    assert set(row) == {"input", "mask", "overlay", "fractions"} and Path(row["mask"]).is_file()
    assert [f["class"] for f in row["fractions"]] == [0, 1, 2]
    assert abs(sum(f["fraction"] for f in row["fractions"]) - 1) < 1e-9


def test_segment_never_overwrites_a_file_silently(runs, tmp_path, capsys) -> None:
    np.savez(tmp_path / "x.npz", x=samples(2))
    out = tmp_path / "o"
    out.mkdir()
    (out / "x-1.overlay.png").write_bytes(b"mine")
    status, _, err = cli(capsys, "predict", runs["seg"], tmp_path / "x.npz", "--out", out)
    assert status == 2 and "x-1.overlay.png' already exists" in err and "--overwrite" in err
    assert (out / "x-1.overlay.png").read_bytes() == b"mine" and not (out / "x-0.mask.png").exists()
    assert cli(capsys, "predict", runs["seg"], tmp_path / "x.npz", "--out", out, "--overwrite")[0] == 0
    assert (out / "x-1.overlay.png").read_bytes().startswith(b"\x89PNG")


def test_segment_default_folder_is_predictions_model(runs, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Image.fromarray((samples(1)[0, ..., 0] * 255).astype(np.uint8)).save(tmp_path / "cat.png")
    assert cli(capsys, "predict", runs["seg"], "cat.png")[0] == 0
    assert (tmp_path / "predictions" / "seg" / "cat.mask.png").is_file()


# --- regress ---------------------------------------------------------------------------------------------------


def test_regress_gives_the_module_s_values(runs, tmp_path, capsys) -> None:
    x = samples()
    want = torch_out(module_of(runs["reg"])[0], x)
    found = specc.predict(runs["reg"], x)
    assert isinstance(found, Regression) and np.allclose(found.values, want, atol=1e-6)
    assert np.allclose(specc.predict(runs["reg"] / "reg.onnx", x).values, want, atol=1e-5)
    np.savez(tmp_path / "x.npz", x=x)
    status, text, _ = cli(capsys, "predict", runs["reg"], tmp_path / "x.npz")
    lines = text.splitlines()[1:]
    assert status == 0 and len(lines) == 5
    assert [float(v) for v in lines[0].split()[1:]] == pytest.approx(want[0].tolist(), abs=1e-5)
    found_json = json.loads(cli(capsys, "predict", runs["reg"] / "reg.onnx", tmp_path / "x.npz", "-f", "json")[1])
    assert found_json["task"] == "regress"
    assert found_json["predictions"][4]["values"] == pytest.approx(want[4].tolist(), abs=1e-5)


# --- embed: an encoder -----------------------------------------------------------------------------------------


def test_an_encoder_gives_normalised_embeddings(runs) -> None:
    x = samples()
    want = F.normalize(torch.from_numpy(torch_out(module_of(runs["emb"])[0], x)), dim=1).numpy()
    for model in (runs["emb"], runs["emb"] / "emb.onnx"):
        found = specc.predict(model, x)
        assert isinstance(found, Embeddings) and np.allclose(found.embeddings, want, atol=1e-5)


def test_distances_are_training_s(runs) -> None:
    """The distance predict measures is the one `specc val` and training measure (Embed.pair_scores)."""
    from specc.training.setup import spec_io
    from specc.training.tasks import of_run
    from specc.training.tasks.embed import draw_pairs

    module, meta, analysis = load_checkpoint_model(runs["emb"] / "best.pt")
    task = of_run(spec_io(analysis), meta.config)
    x, y = samples(12), np.repeat(np.arange(4), 3)
    outs = torch.from_numpy(torch_out(module, x))
    scores, _ = task.pair_scores(outs, torch.from_numpy(y))
    first, second, _ = draw_pairs(y, 0)
    assert np.allclose(distances(outs.numpy()[first], outs.numpy()[second]), scores, atol=1e-6)


def test_an_encoder_compares_pairs_at_the_run_s_threshold(runs, tmp_path, capsys) -> None:
    module, metrics = module_of(runs["emb"])
    threshold = metrics["val_threshold"]
    a, b = samples(4, 2), samples(4, 3)
    e = torch_out(module, np.concatenate([a, b]))
    want = (F.normalize(torch.from_numpy(e[:4]), dim=1) - F.normalize(torch.from_numpy(e[4:]), dim=1)).norm(dim=1)
    want = want.numpy()
    for model in (runs["emb"], runs["emb"] / "emb.onnx"):
        found = specc.predict(model, (a, b))
        assert isinstance(found, Verification) and found.measure == "distance"
        assert found.threshold == pytest.approx(threshold) and np.allclose(found.scores, want, atol=1e-5)
        assert found.same is not None and (found.same == (found.scores < threshold)).all()
    assert float(props(runs["emb"] / "emb.onnx")["threshold"]) == pytest.approx(threshold)
    np.savez(tmp_path / "x.npz", x=np.stack([a[0], b[0]]))
    status, text, _ = cli(capsys, "predict", runs["emb"], tmp_path / "x.npz", "--pair", "-f", "json")
    row = json.loads(text)["predictions"][0]
    assert status == 0 and set(row) == {"a", "b", "distance", "same"}
    assert row["distance"] == pytest.approx(want[0], abs=1e-5) and row["same"] == bool(want[0] < threshold)
    status, text, _ = cli(capsys, "predict", runs["emb"], tmp_path / "x.npz", "--pair")
    assert status == 0 and f"x.npz[0] ~ {tmp_path / 'x.npz'}[1]  distance " in text
    assert f"threshold {threshold:.4g}" in text


def test_an_odd_number_of_samples_cannot_be_paired(runs, tmp_path, capsys) -> None:
    np.savez(tmp_path / "x.npz", x=samples(3))
    status, out, err = cli(capsys, "predict", runs["emb"], tmp_path / "x.npz", "--pair")
    assert status == 2 and out == "" and "there are 3: give an even number" in err


# --- embed: a pair network -------------------------------------------------------------------------------------


def test_a_pair_network_gives_its_probability_and_verdict(runs, tmp_path, capsys) -> None:
    module, metrics = module_of(runs["pair"])
    a, b = samples(4, 2), samples(4, 3)
    want = torch_out(module, a, b)[:, 0]
    for model in (runs["pair"], runs["pair"] / "pair.onnx"):
        found = specc.predict(model, {"a": a, "b": b})
        assert isinstance(found, Verification) and found.measure == "probability"
        assert np.allclose(found.scores, want, atol=1e-6)
        assert found.same is not None and (found.same == (want > metrics["val_threshold"])).all()
    np.savez(tmp_path / "p.npz", a=a, b=b)
    status, text, _ = cli(capsys, "predict", runs["pair"] / "pair.onnx", tmp_path / "p.npz", "-f", "json")
    rows = json.loads(text)["predictions"]
    assert status == 0 and [r["probability"] for r in rows] == pytest.approx(want.tolist(), abs=1e-6)
    assert rows[0]["a"] == f"{tmp_path / 'p.npz'}[0] a"


# --- classify, export metadata ---------------------------------------------------------------------------------


def test_classify_in_python_ranks_the_module_s_probabilities(runs) -> None:
    x = samples()
    want = torch_out(module_of(runs["cls"])[0], x)
    found = specc.predict(runs["cls"], x, top=2)
    assert isinstance(found, Classification) and np.allclose(found.probabilities, want, atol=1e-6)
    assert [t[0][0] for t in found.top] == want.argmax(1).tolist() and len(found.top[0]) == 2
    assert found.as_dict()["predictions"][0]["top"][0]["class"] == int(want[0].argmax())


@pytest.mark.parametrize("name, task, output", [
    ("cls", "classify", "probabilities: softmax over dim 1"),
    ("seg", "segment", "logits: the last layer's output, a score for each of 3 classes at every pixel"),
    ("reg", "regress", "values: (batch, 2), the last layer's output"),
    ("emb", "embed", "embeddings: (batch, 8), not normalised"),
    ("pair", "embed", "probabilities: sigmoid over dim 1, the probability that the two inputs show the same"),
])
def test_export_records_the_task(runs, name, task, output) -> None:
    found = props(runs[name] / f"{name}.onnx")
    assert found["task"] == task and found["output"].startswith(output)
    assert ("classes" in found) == (task == "segment") and ("threshold" in found) == (task == "embed")


def test_metadata_of_a_spec_export_reads_its_task(tmp_path) -> None:
    (tmp_path / "u.cnn").write_text(SPECS["seg"])
    specc.export(tmp_path / "u.cnn", tmp_path / "u.onnx", seed=0)
    found = props(tmp_path / "u.onnx")
    assert found["task"] == "segment" and found["classes"] == "3" and "threshold" not in found


# --- refusals --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, flag, words", [
    ("reg", "--pair", "--pair compares an encoder's inputs two by two, but"),
    ("pair", "--pair", "a pair network's .npz already holds pairs"),
    ("cls", "--overwrite", "--overwrite replaces a segmenter's mask files"),
    ("emb", "--top=2", "--top ranks a classifier's classes"),
])
def test_a_flag_that_does_not_fit_the_task_is_refused(runs, tmp_path, capsys, name, flag, words) -> None:
    np.savez(tmp_path / "x.npz", x=samples(2), a=samples(2), b=samples(2))
    status, out, err = cli(capsys, "predict", runs[name], tmp_path / "x.npz", flag)
    assert status == 2 and out == "" and words in err


@pytest.mark.parametrize("key, value, words", [
    ("task", "detect-ish", "its metadata `task` is 'detect-ish'"),
    ("threshold", "near", "its metadata `threshold` is 'near', not a number"),
])
def test_bad_task_metadata_is_refused_naming_the_key(runs, tmp_path, capsys, key, value, words) -> None:
    model = onnx.load(str(runs["emb"] / "emb.onnx"))
    for p in model.metadata_props:
        if p.key == key:
            p.value = value
    onnx.save(model, str(tmp_path / "bad.onnx"))
    np.savez(tmp_path / "x.npz", x=samples(2))
    status, _, err = cli(capsys, "predict", tmp_path / "bad.onnx", tmp_path / "x.npz")
    assert status == 1 and words in err


def test_python_refusals_say_what_fits(runs) -> None:
    with pytest.raises(specc.SpeccError, match="a tuple .a, b. gives pairs to an encoder"):
        specc.predict(runs["reg"], (samples(2), samples(2)))
    with pytest.raises(specc.SpeccError, match="holds samples of 5x5x1 but the spec's input is 8x8x1"):
        specc.predict(runs["seg"], np.zeros((2, 5, 5, 1), np.float32))
    with pytest.raises(specc.SpeccError, match="has no array for the input b"):
        specc.predict(runs["pair"], {"a": samples(2)})
    with pytest.raises(specc.SpeccError, match="a has 2, b 3"):
        specc.predict(runs["emb"], (samples(2), samples(3)))
    with pytest.raises(TypeError, match="'top'"):
        specc.predict(runs["cls"], samples(2), top="2")


def test_uint8_arrays_are_scaled_as_predict_scales_them(runs) -> None:
    pixels = (samples(3) * 255).round().astype(np.uint8)
    assert np.allclose(specc.predict(runs["reg"], pixels).values,
                       specc.predict(runs["reg"], pixels.astype(np.float32) / 255).values)


def test_an_onnx_file_of_every_task_answers_without_torch(runs, tmp_path) -> None:
    import subprocess
    import sys

    np.savez(tmp_path / "x.npz", x=samples(2), a=samples(2), b=samples(2))
    calls = [["predict", str(runs[name] / f"{name}.onnx"), str(tmp_path / "x.npz"), "-f", "json", *extra]
             for name, extra in (("seg", ["--out", str(tmp_path / "o")]), ("reg", []), ("emb", ["--pair"]),
                                 ("pair", []))]
    code = ("import contextlib, io, json, sys; from specc.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()): codes = [main(argv) for argv in {calls!r}]\n"
            "print(json.dumps([codes, 'torch' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert json.loads(done.stdout) == [[0, 0, 0, 0], False], done.stderr
