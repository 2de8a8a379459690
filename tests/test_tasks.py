"""Tasks (spec-tasks §1): which task a spec trains for and why, the task's loss and metrics
(each against scikit-learn or a hand-written torch loop on the same data), and the messages
for a task or data that does not fit. Segment and embed have their own files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, mean_absolute_error, mean_squared_error, precision_score, r2_score, recall_score

from specc.cli import main
from specc.runtime.checkpoint import load_checkpoint_model
from specc.training.runlog import read_metrics
from specc.training.specio import SpecIO
from specc.training.tasks import resolve
from specc.training.tasks.classify import Classify, macro
from specc.training.tasks.regress import Regress, per_output

DIGITS = """model d
input 8x8x1
conv 6 3x3 relu
fc 10 softmax
train batch=64 epochs=2 lr=0.01
"""

REGRESS = """model r
input 6
fc 8 relu
fc 2
train task=regress batch=16 epochs=3 lr=0.01
"""


def _spec(tmp_path: Path, text: str, name: str = "net.cnn") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _values(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = np.stack([x[:, 0] - 2 * x[:, 1], 0.5 * x[:, 2] + 1.0], axis=1).astype(np.float32)
    return x, y


def test_classify_records_precision_recall_f1_of_each_epoch_as_scikit_learn_computes_them(tmp_path):
    out = tmp_path / "run"
    assert main(["train", str(_spec(tmp_path, DIGITS)), "--data", "digits", "--out", str(out), "-q"]) == 0
    last = read_metrics(out)[-1]
    module, meta, analysis = load_checkpoint_model(out / "last.pt")
    from specc.training.data import prepare
    from specc.training.setup import spec_io

    split = prepare("digits", spec_io(analysis), 0.1, 0)
    with torch.no_grad():
        predicted = module(split.x_val).argmax(1).numpy()
    truth = split.y_val.numpy()
    assert last["val_acc"] == pytest.approx(float((predicted == truth).mean()))
    for key, score in (("precision", precision_score), ("recall", recall_score), ("f1", f1_score)):
        expected = score(truth, predicted, average="macro", labels=range(10), zero_division=0)
        assert last[f"val_{key}"] == pytest.approx(expected), key
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert header == ("epoch,train_loss,train_acc,val_loss,val_acc,val_precision,val_recall,val_f1,"
                      "lr,seconds,images_per_s")


def test_macro_scores_of_a_confusion_matrix_equal_scikit_learns_including_empty_classes():
    rng = np.random.default_rng(3)
    truth, predicted = rng.integers(0, 4, 300), rng.integers(0, 5, 300)
    predicted[predicted == 4] = 0  # class 4 predicted never; class 3 also never true below
    truth[truth == 3] = 1
    matrix = np.zeros((5, 5))
    np.add.at(matrix, (truth, predicted), 1)
    found = macro(matrix)
    for key, score in (("precision", precision_score), ("recall", recall_score), ("f1", f1_score)):
        assert found[key] == pytest.approx(score(truth, predicted, average="macro", labels=range(5), zero_division=0))


def test_regression_metrics_from_sums_equal_scikit_learns():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((50, 3))
    y[:, 2] = 4.0  # a constant target: R² is 1 where predicted exactly, else 0 (scikit-learn's force_finite)
    out = y + 0.3 * rng.standard_normal((50, 3))
    out[:, 2] = 4.0
    task = Regress(SpecIO((6,), 1, 3, 3, binary=False))
    sums = task.sums(torch.from_numpy(out), torch.from_numpy(y)).tolist()
    rows = per_output(sums, 50, 3)
    for j in range(3):
        assert rows[j]["mae"] == pytest.approx(mean_absolute_error(y[:, j], out[:, j]))
        assert rows[j]["rmse"] == pytest.approx(mean_squared_error(y[:, j], out[:, j]) ** 0.5)
        assert rows[j]["r2"] == pytest.approx(r2_score(y[:, j], out[:, j]))
    assert task.metrics(sums, 50)["r2"] == pytest.approx(r2_score(y, out))  # uniform average over outputs


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_a_regression_run_matches_a_hand_written_torch_loop_on_the_same_data(tmp_path, loss):
    """Same init (the seed, then the module), same batches, Adam: the same losses and metrics, epoch by epoch."""
    import torch.nn.functional as F

    from specc.runtime.build import instantiate
    from specc.source import read_ok
    from specc.training.distributed import World
    from specc.training.loop import batches

    x, y = _values()
    path = _spec(tmp_path, REGRESS.replace("task=regress", f"task=regress loss={loss}"))
    import specc

    result = specc.train(path, (x, y), out=tmp_path / "run", quiet=True)
    order = np.random.default_rng(0).permutation(len(x))
    val, fit = order[:20], order[20:]  # val=0.1 of 200, drawn with the seed as specc does
    torch.manual_seed(0)
    net = instantiate(read_ok(path, refusal="x"))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(x[fit]), torch.from_numpy(y[fit])
    xv, yv = torch.from_numpy(x[val]), torch.from_numpy(y[val])
    fn = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}[loss]
    for epoch, record in enumerate(result.history, 1):
        net.train()
        total = 0.0
        for idx in batches(len(xt), 16, 0, epoch, World()):
            opt.zero_grad()
            step = fn(net(xt[idx]), yt[idx])
            step.backward()
            opt.step()
            total += step.item() * len(idx)
        net.eval()
        with torch.no_grad():
            predicted = net(xv).numpy()
        assert record["train_loss"] == pytest.approx(total / len(xt), rel=1e-5)
        assert record["val_loss"] == pytest.approx(float(fn(torch.from_numpy(predicted), yv)), rel=1e-5)
        assert record["val_mae"] == pytest.approx(mean_absolute_error(y[val], predicted), rel=1e-5)
        assert record["val_r2"] == pytest.approx(r2_score(y[val], predicted), rel=1e-4, abs=1e-6)
    assert result.task == "regress" and result.monitor == "val_loss"
    assert result.best == min(r["val_loss"] for r in result.history)


def test_regression_learns_and_val_reports_each_output(tmp_path, capsys):
    x, y = _values(400)
    np.savez(tmp_path / "v.npz", x=x, y=y)
    out = tmp_path / "run"
    path = _spec(tmp_path, REGRESS.replace("epochs=3", "epochs=15"))
    assert main(["train", str(path), "--data", str(tmp_path / "v.npz"), "--out", str(out), "-q"]) == 0
    assert main(["val", str(out), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["task"] == "regress" and found["r2"] > 0.9 and len(found["per_output"]) == 2
    assert set(found["per_output"][0]) == {"output", "mae", "rmse", "r2"}


def _io(output, shape=(16, 16, 3), final=None, inputs=()):
    k = output[-1] if len(output) == 1 or output[:2] == (1, 1) else 0
    return SpecIO(shape, 1, k, 9, binary=final == "sigmoid" and k == 1, inputs=inputs, output=output, final=final)


@pytest.mark.parametrize("output, task, how", [
    ((10,), "classify", "class scores"), ((1, 1, 10), "classify", "class scores"),
    ((16, 16, 4), "segment", "a map of the input's size")])
def test_the_task_is_read_from_the_output_and_says_how(output, task, how):
    found, why = resolve(_io(output), None, None, 0.2)
    assert found.name == task and how in why
    assert why.startswith(f"read from the output {'x'.join(map(str, output))}")


def test_a_task_that_does_not_fit_is_refused_with_what_would():
    from specc.errors import SpeccError

    with pytest.raises(SpeccError, match=r"task=segment does not fit the spec: its output is 10 \(line 9\).*"
                                         r"fits task=classify or regress or embed"):
        resolve(_io((10,)), "segment", None, 0.2)
    with pytest.raises(SpeccError, match=r"output is 8x8x4 \(line 9\).*cannot be read.*task=regress"):
        resolve(_io((8, 8, 4)), None, None, 0.2)
    with pytest.raises(SpeccError, match="loss=triplet does not fit task classify: it takes ce"):
        resolve(_io((10,)), "classify", "triplet", 0.2)
    assert resolve(_io((1,), final="sigmoid"), None, None, 0.2)[0].loss_name == "bce"


def test_the_run_echoes_its_task_records_it_and_resume_refuses_another(tmp_path, capsys):
    x, y = _values()
    np.savez(tmp_path / "v.npz", x=x, y=y)
    out, path = tmp_path / "run", _spec(tmp_path, REGRESS.replace("task=regress ", ""))
    assert main(["train", str(path), "--data", str(tmp_path / "v.npz"), "--out", str(out), "--task", "regress",
                 "--loss", "huber", "--epochs", "1"]) == 0
    echo = capsys.readouterr().out
    assert "task      regress (--task): loss huber, 2 outputs" in echo
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["task"] == "regress" and config["train"]["loss"] == "huber"
    assert main(["train", str(path), "--resume", str(out), "--task", "classify", "--epochs", "2"]) == 2
    assert "--task classify differs from the run's task=regress" in capsys.readouterr().err
    assert main(["train", str(path), "--resume", str(out), "--epochs", "2", "-q"]) == 0
    assert [r["epoch"] for r in read_metrics(out)] == [1, 2] and "val_r2" in read_metrics(out)[-1]


def test_a_classifier_without_a_written_task_says_it_was_read_from_the_output(tmp_path, capsys):
    assert main(["train", str(_spec(tmp_path, DIGITS)), "--data", "digits", "--out", str(tmp_path / "r"),
                 "--epochs", "1"]) == 0
    assert "task      classify (read from the output 10: class scores): loss ce" in capsys.readouterr().out


@pytest.mark.parametrize("y, message", [
    (np.zeros((200, 3), np.float32), r"has shape 200x3, but the spec outputs 2 values \(line 4\)"),
    (np.full((200, 2), np.nan, np.float32), "400 non-finite value"),
    (np.array(["a"] * 200), "the spec outputs 2 values"),
])
def test_regression_targets_that_do_not_fit_are_refused_before_training(tmp_path, y, message):
    import specc
    from specc.errors import SpeccError

    x, _ = _values()
    with pytest.raises(SpeccError, match=message):
        specc.train(_spec(tmp_path, REGRESS), (x, y), out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_synthetic_class_data_are_refused_for_values(tmp_path, capsys):
    assert main(["train", str(_spec(tmp_path, REGRESS)), "--data", "synthetic", "-q"]) == 2
    assert "task regress learns from values: give an .npz" in capsys.readouterr().err


def test_train_options_task_loss_margin_are_checked_in_the_spec():
    import specc

    assert specc.check("input 4\nfc 2\ntrain task=regress loss=mae\n").ok
    bad = specc.check("input 4\nfc 2\ntrain task=detcet\n")
    assert not bad.ok and "task must be one of classify, segment, regress, embed" in bad.diagnostics[0].message
    assert not specc.check("input 4\nfc 2\ntrain margin=-1\n").ok


def test_classify_is_the_default_for_old_runs_configs():
    from specc.training.tasks import of_run

    assert isinstance(of_run(_io((10,)), {"train": {"batch": 4}}), Classify)
    assert of_run(_io((2,)), {"train": {"task": "regress", "loss": "mae"}}).loss_name == "mae"
