"""embed (spec-tasks §1), the course's face verification: the triplet loss with semi-hard negatives against a
per-anchor loop, the verification metrics against scikit-learn, the pairs, both forms' training against a
hand-written torch loop on the same data, what a run writes and `specc val` reports, and bad data."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score, roc_curve

import specc
from specc.cli import main
from specc.errors import SpeccError
from specc.runtime.build import instantiate
from specc.runtime.checkpoint import load_checkpoint_model
from specc.source import read_ok
from specc.training.distributed import World
from specc.training.loop import batches
from specc.training.runlog import RUN_FILES, read_metrics
from specc.training.setup import spec_io
from specc.training.tasks.embed import Embed, auc, draw_pairs, outputs, roc, semi_hard_triplet, verification

ENCODER = """model enc
input 8x8x1
conv 16 3x3 relu
fc 16
train task=embed batch=64 epochs=2
"""

# Two inputs of one shape, one encoder shared by both (share=), one sigmoid unit: the course's
# "face verification as binary classification" on digits.
PAIR = """model pair
a:      input 8x8x1
b:      input 8x8x1
e1:     conv 16 3x3 relu from=a
f1:     fc 16
e2:     conv 16 3x3 relu from=b share=e1
f2:     fc 16 share=f1
        subtract f1 f2
        abs
        fc 1 sigmoid
train task=embed loss=bce batch=64 epochs=2
"""


def _spec(tmp_path: Path, text: str, name: str = "net.cnn") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _digits(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (the first ``n``) as specc's `digits` reads them: (N, 8, 8, 1) in [0, 1], the classes
    as identities."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images[:n] / 16.0).astype(np.float32)[..., None], bunch.target[:n].astype(np.int64)


def _torch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NHWC -> NCHW, as specc trains


# The loss

def reference_triplet(e: torch.Tensor, y: torch.Tensor, margin: float, distance=None) -> torch.Tensor:
    """FaceNet's semi-hard triplet loss, one (anchor, positive) pair at a time: the nearest negative farther
    from the anchor than the positive, else the farthest negative; the mean hinge over the pairs."""
    e = F.normalize(e, dim=1)
    distance = distance or (lambda i, j: ((e[i] - e[j]) ** 2).sum())
    hinges = []
    for a in range(len(y)):
        negatives = [n for n in range(len(y)) if y[n] != y[a]]
        if not negatives:
            continue
        for p in range(len(y)):
            if p == a or y[p] != y[a]:
                continue
            d_ap = distance(a, p)
            d_an = torch.stack([distance(a, n) for n in negatives])
            farther = d_an[d_an > d_ap]
            chosen = farther.min() if len(farther) else d_an.max()
            hinges.append(torch.clamp(d_ap - chosen + margin, min=0))
    return torch.stack(hinges).mean() if hinges else e.sum() * 0.0


def every_triplet(out: torch.Tensor, y: torch.Tensor, margin: float) -> torch.Tensor:
    """The same loss from the (anchor, positive, negative) cube of a batch, with specc's distance formula
    (2 − 2 u·v), so that a training run and this one mine the same negatives from the same numbers."""
    e = F.normalize(out, dim=1)
    d = 2 - 2 * e @ e.T
    same = y[:, None] == y[None, :]
    pairs = same & ~torch.eye(len(y), dtype=torch.bool)
    negative = ~same[:, None, :].expand(-1, len(y), -1)  # [a, p, n]
    pairs &= negative.any(2)
    d_an = d[:, None, :].expand(-1, len(y), -1)
    farther = negative & (d_an > d[:, :, None])
    nearest = torch.where(farther, d_an, torch.inf).amin(2)
    farthest = torch.where(negative, d_an, -torch.inf).amax(2)
    chosen = torch.where(farther.any(2), nearest, farthest)
    return F.relu(d - chosen + margin)[pairs].mean() if pairs.any() else out.sum() * 0.0


@pytest.mark.parametrize("n, identities, seed", [(12, 3, 0), (16, 5, 1), (9, 2, 2), (7, 7, 3), (10, 1, 4)])
def test_semi_hard_triplet_is_the_per_anchor_loop_value_and_gradient(n, identities, seed):
    torch.manual_seed(seed)
    out = torch.randn(n, 6, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, identities, (n,))
    found = semi_hard_triplet(out, y, 0.2)
    (grad,) = torch.autograd.grad(found, out)
    twin = out.detach().clone().requires_grad_(True)
    expected = reference_triplet(twin, y, 0.2)
    if expected.requires_grad:
        (expected_grad,) = torch.autograd.grad(expected, twin)
    else:  # no pair of one identity, or no other identity: nothing to learn
        expected_grad = torch.zeros_like(twin)
    assert found.item() == pytest.approx(expected.item(), abs=1e-12)
    assert torch.allclose(grad, expected_grad, atol=1e-12)
    assert every_triplet(out, y, 0.2).item() == pytest.approx(expected.item(), abs=1e-12)


def test_semi_hard_triplet_takes_the_farthest_negative_when_every_negative_is_nearer():
    # anchor 0 and its positive 1 are far apart; the negative 2 sits next to the anchor
    e = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.99, 0.141]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1])
    d = lambda u, v: float(((F.normalize(u, dim=0) - F.normalize(v, dim=0)) ** 2).sum())  # noqa: E731
    # pairs (0, 1) and (1, 0), each with its only negative
    expected = (max(d(e[0], e[1]) - d(e[0], e[2]) + 0.2, 0) + max(d(e[1], e[0]) - d(e[1], e[2]) + 0.2, 0)) / 2
    assert float(semi_hard_triplet(e, y, 0.2)) == pytest.approx(expected)


def test_a_batch_without_a_pair_of_one_identity_adds_nothing_and_keeps_the_graph():
    out = torch.randn(4, 3, requires_grad=True)
    loss = semi_hard_triplet(out, torch.arange(4), 0.2)
    loss.backward()
    assert loss.item() == 0.0 and out.grad is not None and not out.grad.any()


# The metrics

def brute_force(scores: np.ndarray, same: np.ndarray, higher_is_same: bool) -> float:
    """The best accuracy over every threshold: between each two neighbouring scores and beyond both ends."""
    values = np.unique(scores)
    cuts = np.concatenate([[values[0] - 1], (values[1:] + values[:-1]) / 2, [values[-1] + 1]])
    said = (scores[None, :] > cuts[:, None]) if higher_is_same else (scores[None, :] < cuts[:, None])
    return float((said == same[None, :]).mean(axis=1).max())


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("higher_is_same", [True, False])
def test_verification_equals_scikit_learn_and_a_brute_force_threshold_with_ties(seed, higher_is_same):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    same = rng.random(n) < 0.5
    same[0], same[-1] = True, False  # both kinds
    scores = np.round(rng.normal(same * (1.0 if higher_is_same else -1.0), 1.0), 1)  # rounded: ties
    found = verification(scores, same, higher_is_same)
    assert found["auc"] == pytest.approx(roc_auc_score(same, scores if higher_is_same else -scores))
    assert found["acc"] == pytest.approx(brute_force(scores, same, higher_is_same))
    said = scores > found["threshold"] if higher_is_same else scores < found["threshold"]
    assert float((said == same).mean()) == pytest.approx(found["acc"])  # the threshold gives the accuracy
    assert not np.any(scores == found["threshold"])  # between two scores, never on one


def test_auc_of_a_perfect_a_reversed_and_an_all_tied_ranking():
    same = np.array([True, True, False, False])
    assert auc(np.array([4.0, 3.0, 2.0, 1.0]), same) == 1.0
    assert auc(np.array([1.0, 2.0, 3.0, 4.0]), same) == 0.0
    assert auc(np.array([1.0, 1.0, 1.0, 1.0]), same) == 0.5
    assert math.isnan(verification(np.ones(3), np.ones(3, dtype=bool), True)["auc"])  # one kind only


@pytest.mark.parametrize("seed", range(4))
def test_roc_is_scikit_learns_curve_at_every_threshold(seed):
    rng = np.random.default_rng(seed)
    same = rng.random(40) < 0.4
    same[:2] = [True, False]
    scores = np.round(rng.normal(same, 1.0), 1)
    fpr, tpr = roc(scores, same)
    expected_fpr, expected_tpr, _ = roc_curve(same, scores, drop_intermediate=False)
    assert np.allclose(fpr, expected_fpr) and np.allclose(tpr, expected_tpr)


# The pairs

def test_draw_pairs_is_half_same_half_different_and_the_same_for_one_seed():
    y = np.repeat(np.arange(7), 5)
    first, second, same = draw_pairs(y, 3)
    assert len(same) == 2 * len(y) and same.sum() == len(y)  # every sample once with each kind of partner
    assert np.array_equal(np.bincount(first), np.full(len(y), 2))
    assert np.all((y[first] == y[second]) == same.astype(bool)) and np.all(first != second)
    again = draw_pairs(y, 3)
    assert all(np.array_equal(u, v) for u, v in zip((first, second, same), again))
    assert not np.array_equal(second, draw_pairs(y, 4)[1])


def test_a_sample_alone_with_its_identity_takes_only_a_different_partner():
    first, second, same = draw_pairs(np.array([0, 0, 1]), 0)
    assert list(zip(first.tolist(), same.tolist())) == [(0, 1), (0, 0), (1, 1), (1, 0), (2, 0)]


# Training against a hand-written loop

def _split(x: np.ndarray, y: np.ndarray, val: float = 0.1, seed: int = 0):
    order = np.random.default_rng(seed).permutation(len(y))  # specc's held-out split: data._held_out
    n_val = round(val * len(y))
    return order[n_val:], order[:n_val]


def test_an_encoder_run_matches_a_hand_written_torch_loop_on_the_same_data(tmp_path):
    """Same init (the seed, then the module), same batches, Adam, the loss from every triplet: the same losses,
    verification accuracy, AUC and threshold, epoch by epoch."""
    path = _spec(tmp_path, ENCODER)
    x, y = _digits(500)
    history = specc.train(path, (x, y), out=tmp_path / "run", quiet=True).history
    fit, val = _split(x, y)
    xt, xv = _torch(x[fit]), _torch(x[val])
    yt, yv = torch.from_numpy(y[fit]), torch.from_numpy(y[val])
    first, second, same = draw_pairs(y[val], 0)
    torch.manual_seed(0)
    net = instantiate(read_ok(path, refusal="x"))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for epoch, record in enumerate(history, 1):
        net.train()
        total = 0.0
        for idx in batches(len(yt), 64, 0, epoch, World()):
            opt.zero_grad()
            step = every_triplet(net(xt[idx]), yt[idx], 0.2)
            step.backward()
            opt.step()
            total += step.item() * len(idx)
        net.eval()
        with torch.no_grad():
            out = net(xv)  # fewer than 128 (2 x batch): one evaluation batch
        e = F.normalize(out, dim=1).numpy()
        distance = np.linalg.norm(e[first] - e[second], axis=1)
        assert record["train_loss"] == pytest.approx(total / len(yt), rel=1e-5)
        assert record["val_loss"] == pytest.approx(every_triplet(out, yv, 0.2).item(), rel=1e-5)
        assert record["val_auc"] == pytest.approx(roc_auc_score(same, -distance), abs=1e-6)
        assert record["val_acc"] == pytest.approx(brute_force(distance, same.astype(bool), False))
        said = distance < record["val_threshold"]
        assert float((said == same).mean()) == pytest.approx(record["val_acc"])


def test_a_pair_network_run_matches_a_hand_written_torch_loop_on_the_same_pairs(tmp_path):
    """Pairs drawn from the seed (training: the seed, held out: the seed + 1), bce on the sigmoid unit's
    logit, the shared encoder: the same losses and metrics, epoch by epoch."""
    path = _spec(tmp_path, PAIR)
    x, y = _digits(500)
    history = specc.train(path, (x, y), out=tmp_path / "run", quiet=True).history
    fit, val = _split(x, y)
    pairs = [draw_pairs(y[part], seed) for part, seed in ((fit, 0), (val, 1))]
    (xa, xb, yt), (va, vb, yv) = [
        (_torch(x[part][f]), _torch(x[part][s]), torch.from_numpy(same).float())
        for part, (f, s, same) in zip((fit, val), pairs)]
    torch.manual_seed(0)
    net = instantiate(read_ok(path, refusal="x"))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for epoch, record in enumerate(history, 1):
        net.train()
        total = 0.0
        for idx in batches(len(yt), 64, 0, epoch, World()):
            opt.zero_grad()
            step = F.binary_cross_entropy_with_logits(net.logits(xa[idx], xb[idx])[:, 0], yt[idx])
            step.backward()
            opt.step()
            total += step.item() * len(idx)
        net.eval()
        with torch.no_grad():
            logit = net.logits(va, vb)[:, 0]
        p = torch.sigmoid(logit).numpy()
        held = [F.binary_cross_entropy_with_logits(logit[i:i + 128], yv[i:i + 128], reduction="sum")
                for i in range(0, len(yv), 128)]
        assert record["train_loss"] == pytest.approx(total / len(yt), rel=1e-5)
        assert record["val_loss"] == pytest.approx(float(sum(held)) / len(yv), rel=1e-5)
        assert record["val_auc"] == pytest.approx(roc_auc_score(yv.numpy(), p), abs=1e-6)
        assert record["val_acc"] == pytest.approx(brute_force(p, yv.numpy().astype(bool), True))
    assert history[-1]["val_auc"] > history[0]["val_auc"]


def _untrained(path: Path, x: torch.Tensor, y: np.ndarray) -> dict[str, float]:
    """The verification of the net as initialised, on the run's held-out pairs."""
    analysis = read_ok(path, refusal="x")
    torch.manual_seed(0)
    net = instantiate(analysis)
    task = Embed(spec_io(analysis))
    return task.evaluate(outputs(net, x, task.reads_logits), torch.from_numpy(y))


def test_the_encoder_learns_without_collapsing_and_val_reports_the_contracts_names(tmp_path, capsys):
    """Well above the untrained net on held-out pairs, the loss far below the margin (batch-hard mining sat
    at it: every encoding in one spot), embedding.png and metrics.csv's columns; `specc val` in JSON."""
    out = tmp_path / "run"
    path = _spec(tmp_path, ENCODER.replace("epochs=2", "epochs=4"))
    assert main(["train", str(path), "--data", "digits", "--out", str(out), "-q"]) == 0
    x, y = _digits()
    _, val = _split(x, y)
    before, history = _untrained(path, _torch(x[val]), y[val]), read_metrics(out)
    assert history[-1]["val_auc"] > before["auc"] + 0.1 and history[-1]["val_acc"] > before["acc"] + 0.1
    assert history[-1]["train_loss"] < 0.2 / 4 and history[-1]["val_loss"] < 0.2 / 4
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == ["epoch", "train_loss", "val_loss", "val_acc", "val_auc", "val_threshold", "lr", "seconds",
                      "images_per_s"]
    assert (out / "embedding.png").stat().st_size > 0 and not (out / "confusion.png").exists()
    capsys.readouterr()
    assert main(["val", str(out), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    best = max(history, key=lambda r: r["val_auc"])
    assert found["task"] == "embed"
    assert found["accuracy"] == pytest.approx(best["val_acc"]) and found["auc"] == pytest.approx(best["val_auc"])
    assert found["threshold"] == pytest.approx(best["val_threshold"])
    assert [r["pairs"] for r in found["pairs"]] == ["same", "different"]
    assert sum(r["count"] for r in found["pairs"]) == 2 * len(val)
    assert found["pairs"][0]["mean_distance"] < found["threshold"] < found["pairs"][1]["mean_distance"]
    assert found["figures"] == [str(out / "val-embedding.png")] and (out / "val-embedding.png").exists()
    assert {"embedding.png", "val-embedding.png"} <= RUN_FILES  # the folder stays a run's


def test_val_text_shows_the_metrics_and_a_row_per_kind_of_pair(tmp_path, capsys):
    out = tmp_path / "run"
    x, y = _digits(300)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    assert main(["train", str(_spec(tmp_path, PAIR.replace("epochs=2", "epochs=1"))), "--data",
                 str(tmp_path / "d.npz"), "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["val", str(out)]) == 0
    text = capsys.readouterr().out
    for line in ("task      embed", "accuracy", "auc", "threshold", "mean_probability", "same", "different",
                 "val-embedding.png"):
        assert line in text


def test_the_course_siamese_spec_trains_on_a_folder_of_identities(tmp_path, capsys):
    """specs/siamese.cnn (96x96x3, its encoder shared): pairs drawn from a folder with one sub-folder per person."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for person in range(4):
        folder = tmp_path / "faces" / f"person{person}"
        folder.mkdir(parents=True)
        colour = rng.integers(0, 256, 3)
        for k in range(3):
            image = np.clip(rng.normal(colour, 30, (96, 96, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(folder / f"{k}.png")
    spec = Path(__file__).parent.parent / "specs" / "siamese.cnn"
    out = tmp_path / "run"
    assert main(["train", str(spec), "--data", str(tmp_path / "faces"), "--out", str(out),
                 "--epochs", "1", "--batch", "8", "--val", "0.5", "-q"]) == 0
    assert {"val_acc", "val_auc", "val_threshold"} <= set(read_metrics(out)[0])
    assert (out / "embedding.png").exists()


# Data that cannot be verified on

@pytest.mark.parametrize("y, y_val, message", [
    (np.zeros(20, int), None, "'d.npz' y: 1 identity (20 samples), so no pair of different identities to learn "
                              "from; give samples of 2 or more identities (the classes are the identities)"),
    (np.arange(20), None, "'d.npz' y: no identity twice (20 samples of 20 identities), so no pair of the same "
                          "identity to learn from; give 2 or more samples of some identities"),
    (np.arange(20) % 4, np.array([1, 1, 1]), "'d.npz' y_val: 1 identity (3 samples), so no pair of different "
                                             "identities to verify on"),
    (np.arange(20) % 4, np.array([0, 1, 2]), "'d.npz' y_val: no identity twice (3 samples of 3 identities), so no "
                                             "pair of the same identity to verify on; give a validation set with 2 "
                                             "or more samples of some identities"),
    (np.r_[np.arange(25), np.arange(5)], None, "the validation samples (0.1 of the data, drawn with seed 0): no "
                                               "identity twice (3 samples of 3 identities), so no pair of the same "
                                               "identity to verify on; hold out more with --val"),
])
@pytest.mark.parametrize("spec", [ENCODER, PAIR])
def test_data_without_pairs_of_both_kinds_is_refused_before_training(tmp_path, capsys, monkeypatch, spec, y, y_val,
                                                                     message):
    rng = np.random.default_rng(0)
    arrays = {"x": rng.random((len(y), 8, 8, 1), dtype=np.float32), "y": y}
    if y_val is not None:
        arrays |= {"x_val": rng.random((len(y_val), 8, 8, 1), dtype=np.float32), "y_val": y_val}
    np.savez(tmp_path / "d.npz", **arrays)
    monkeypatch.chdir(tmp_path)  # the message names the file as given
    assert main(["train", str(_spec(tmp_path, spec)), "--data", "d.npz", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run" / "config.json").exists()


@pytest.mark.parametrize("spec, written, loss, takes", [(ENCODER, "task=embed", "bce", "triplet"),
                                                   (PAIR, "task=embed loss=bce", "triplet", "bce")])
def test_a_loss_of_the_other_form_is_refused(tmp_path, capsys, spec, written, loss, takes):
    path = _spec(tmp_path, spec.replace(written, f"task=embed loss={loss}"))
    assert main(["train", str(path), "--data", "digits", "--out", str(tmp_path / "run")]) != 0
    assert f"loss={loss} does not fit task embed: it takes {takes}" in capsys.readouterr().err


def test_lent_arrays_are_checked_as_files_are(tmp_path):
    with pytest.raises(SpeccError, match="the data: 1 identity"):
        specc.train(_spec(tmp_path, ENCODER), (np.zeros((10, 8, 8, 1), np.float32), np.zeros(10, int)),
                    out=tmp_path / "run", quiet=True)


# Under torchrun

SPY = r"""import json, os, sys
import specc.training.run as run
real = run.evaluate
def evaluate(*args, **kwargs):
    found = real(*args, **kwargs)
    with open(f"val-{os.environ['RANK']}.jsonl", "a") as seen:  # a file per rank: their stdout lines interleave
        seen.write(json.dumps({"loss": found.mean_loss, **found.metrics}) + "\n")
    return found
run.evaluate = evaluate
from specc.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_under_torchrun_every_rank_scores_the_whole_held_out_set_alike(tmp_path):
    """Two gloo ranks: each scores every held-out pair (the pairs span mini-batches) and they agree; rank 0's
    figures are those of the saved weights on the whole held-out set."""
    from test_train_process import _run

    (tmp_path / "spy.py").write_text(SPY)
    _spec(tmp_path, ENCODER)
    x, y = _digits(500)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "spy.py",
               "train", "net.cnn", "--data", "d.npz", "--device", "cpu", "--out", "run", "-q"]
    done = _run(command, tmp_path, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = {rank: [json.loads(line) for line in (tmp_path / f"val-{rank}.jsonl").read_text().splitlines()]
            for rank in "01"}
    assert len(seen["0"]) == 2 and seen["0"] == seen["1"]
    history = read_metrics(tmp_path / "run")
    assert [r["val_auc"] for r in history] == [r["auc"] for r in seen["0"]]
    module, meta, analysis = load_checkpoint_model(tmp_path / "run" / "last.pt")
    _, val = _split(x, y)
    task = Embed(spec_io(analysis))
    found = task.evaluate(outputs(module, _torch(x[val]), False), torch.from_numpy(y[val]))
    assert found["auc"] == pytest.approx(history[-1]["val_auc"]) and found["acc"] == pytest.approx(
        history[-1]["val_acc"])
