"""Learning-rate schedules and early stopping (spec-tasks §4): each schedule's rate per epoch against
its formula and torch's scheduler, warm-up, plateau on a flat metric, early stopping's epoch, message
and best.pt, resume that continues both exactly, and bad values refused with the option's name.

The training runs are tiny; the validation metric they watch is scripted (specc.training.run.record
is wrapped) so that each stop and each cut falls on an epoch known in advance.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
import torch

import specc
from specc.cli import main
from specc.runtime.checkpoint import load_checkpoint
from specc.training import Request, train
from specc.training.config import TrainConfig
from specc.training.loop import learning_rate, plateau_cuts, plateau_factor, stalled
from specc.training.runlog import read_metrics

TINY = """model tiny
input 8x8x1
conv 4 3x3 relu
maxpool 2x2
dropout 0.1
fc 10 softmax
train batch=32 epochs=6 lr=0.01 seed=0 optimizer=momentum
"""


def _torch_rates(scheduler_of, epochs: int, warmup: int = 0, lr: float = 0.01) -> list[float]:
    """The rate torch's scheduler gives each epoch, stepped once per epoch; warm-up is LinearLR from 1/(N+1)."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    if warmup:
        first = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / (warmup + 1), total_iters=warmup)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [first, scheduler_of(opt)], milestones=[warmup])
    else:
        sched = scheduler_of(opt)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stepping the scheduler without optimizer steps
        for _ in range(epochs):
            rates.append(opt.param_groups[0]["lr"])
            sched.step()
    return rates


def _ours(epochs: int = 12, **options) -> list[float]:
    cfg = TrainConfig(epochs=epochs, lr=0.01, **options)
    return [learning_rate(cfg, e) for e in range(1, epochs + 1)]


LR = torch.optim.lr_scheduler
TORCH = {  # each schedule's torch twin, from the options
    "inverse": lambda o: lambda opt: LR.LambdaLR(opt, lambda t: 1 / (1 + o["decay"] * t)),
    "exp": lambda o: lambda opt: LR.ExponentialLR(opt, gamma=1 - o["decay"]),
    "step": lambda o: lambda opt: LR.StepLR(opt, step_size=o["step_size"], gamma=o["gamma"]),
    "cosine": lambda o: lambda opt: LR.CosineAnnealingLR(opt, T_max=o["epochs"] - o["warmup"]),
}


@pytest.mark.parametrize("warmup", [0, 3])
@pytest.mark.parametrize("schedule", list(TORCH))
def test_each_schedule_is_torchs_scheduler_stepped_once_per_epoch(schedule, warmup):
    options = {"schedule": schedule, "decay": 0.05, "step_size": 4, "gamma": 0.5, "warmup": warmup, "epochs": 12}
    expected = _torch_rates(TORCH[schedule](options), 12, warmup)
    assert _ours(**options) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_each_schedule_is_its_formula():
    t = range(12)
    assert _ours(decay=0.5) == pytest.approx([0.01 / (1 + 0.5 * i) for i in t])  # the course's decay
    assert _ours(schedule="exp", decay=0.05) == pytest.approx([0.01 * 0.95 ** i for i in t])  # the course's 0.95^t
    assert _ours(schedule="step", step_size=5, gamma=0.1) == pytest.approx([0.01] * 5 + [1e-3] * 5 + [1e-4] * 2)
    cosine = _ours(schedule="cosine")
    assert cosine == pytest.approx([0.01 * (1 + math.cos(math.pi * i / 12)) / 2 for i in t])
    assert cosine[0] == 0.01 and cosine[-1] < 0.01 * 0.02  # towards 0 over the run
    assert _ours(schedule="plateau") == [0.01] * 12  # its cuts come from the metrics
    assert _ours() == [0.01] * 12  # the default: inverse with decay 0, the fixed rate of runs before schedules


def test_warm_up_climbs_linearly_per_epoch_then_the_schedule_starts_at_its_own_epoch_0():
    rates = _ours(schedule="cosine", warmup=3, epochs=8)
    assert rates[:3] == pytest.approx([0.0025, 0.005, 0.0075])  # lr·e/(N+1)
    assert rates[3:] == pytest.approx([0.01 * (1 + math.cos(math.pi * i / 5)) / 2 for i in range(5)])
    assert _ours(warmup=2, decay=1.0, epochs=5) == pytest.approx([0.01 / 3, 0.02 / 3, 0.01, 0.005, 0.01 / 3])


def _torch_plateau(values: list[float], higher: bool, patience: int, gamma: float, min_delta: float) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = LR.ReduceLROnPlateau(opt, mode="max" if higher else "min", factor=gamma, patience=patience - 1,
                                 threshold=min_delta, threshold_mode="abs")
    rates = [1.0]
    for value in values:
        sched.step(value)
        rates.append(opt.param_groups[0]["lr"])
    return rates


@pytest.mark.parametrize(("higher", "values"), [
    (True, [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.71, 0.7, 0.7, 0.7]),  # a flat metric, then a small gain
    (False, [2.0, 1.5, 1.6, 1.5, 1.2, 1.19, 1.3, 1.25, 1.0, 1.0, 1.0, float("nan"), 1.0]),
])
@pytest.mark.parametrize("patience", [1, 2, 3])
@pytest.mark.parametrize("min_delta", [0.0, 0.05])
def test_plateau_cuts_where_torchs_reduce_on_plateau_does(higher, values, patience, min_delta):
    cfg = TrainConfig(schedule="plateau", lr_patience=patience, gamma=0.5, min_delta=min_delta, lr=1.0)
    history = [{"val_x": v} for v in values]
    ours = [plateau_factor(cfg, history[:i], "val_x", higher) for i in range(len(values) + 1)]
    assert ours == pytest.approx(_torch_plateau(values, higher, patience, 0.5, min_delta))


def test_plateau_reacts_to_a_flat_metric_and_not_during_warm_up():
    cfg = TrainConfig(schedule="plateau", lr_patience=2, gamma=0.1)
    flat = [0.5] * 7
    assert [plateau_cuts(cfg, flat[:i], True) for i in range(8)] == [0, 0, 0, 1, 1, 2, 2, 3]
    warm = cfg.model_copy(update={"warmup": 3})
    assert [plateau_cuts(warm, flat[:i], True) for i in range(8)] == [0, 0, 0, 0, 0, 0, 1, 1]
    assert plateau_factor(cfg.model_copy(update={"schedule": "step"}), [{}] * 7, "val_acc", True) == 1.0


def test_stalled_counts_epochs_since_the_last_improvement_by_more_than_min_delta():
    assert stalled([0.5, 0.6, 0.6, 0.55], True, 0.0) == (2, 2)
    assert stalled([0.5, 0.6, 0.65, 0.64], True, 0.05) == (2, 2)  # 0.65 is not more than 0.05 better
    assert stalled([2.0, 1.0, 1.5, 0.9], False, 0.0) == (0, 4)
    assert stalled([float("nan")] * 3, True, 0.0) == (3, 0)


# Runs


def _spec(tmp_path: Path, extra: str = "", epochs: int = 6) -> Path:
    path = tmp_path / "tiny.cnn"
    path.write_text(TINY.replace("epochs=6", f"epochs={epochs}") + (f"train {extra}\n" if extra else ""))
    return path


@pytest.fixture
def scripted(monkeypatch):
    """Replace each epoch's val_acc (the classifier's monitored column) by script[epoch - 1]."""
    import specc.training.run as run_module

    script: list[float] = []
    real = run_module.record

    def record(epoch, lr, trained, held):
        entry = real(epoch, lr, trained, held)
        entry["val_acc"] = script[epoch - 1]
        return entry

    monkeypatch.setattr(run_module, "record", record)
    return script


def _interrupted_after(monkeypatch, epoch: int) -> None:
    """The next run stops with Ctrl-C once ``epoch`` is saved (as a user's would)."""
    import specc.training.run as run_module

    real = run_module.finish_epoch

    def finish_epoch(run, entry):
        real(run, entry)
        if entry["epoch"] == epoch:
            monkeypatch.setattr(run_module, "finish_epoch", real)
            raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "finish_epoch", finish_epoch)


def _strip(history):
    return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in history]


def test_metrics_lr_column_is_the_schedule(tmp_path):
    out = tmp_path / "run"
    assert main(["train", str(_spec(tmp_path, "schedule=cosine warmup=2")), "--data", "synthetic:64", "--quiet",
                 "--out", str(out)]) == 0
    cfg = TrainConfig(**json.loads((out / "config.json").read_text())["train"])
    assert (cfg.schedule, cfg.warmup, cfg.monitor) == ("cosine", 2, "val_acc")
    assert [r["lr"] for r in read_metrics(out)] == [learning_rate(cfg, e) for e in range(1, 7)]
    meta = load_checkpoint(out / "last.pt")[1]
    assert meta.config["train"]["schedule"] == "cosine" and meta.config["origins"]["warmup"] == "spec line 8"


def test_early_stopping_stops_at_the_right_epoch_and_says_why_and_which_epoch_best_pt_holds(
        tmp_path, scripted, capsys):
    scripted[:] = [0.5, 0.6, 0.7, 0.7, 0.69, 0.7, 0.9, 0.9]
    out = tmp_path / "run"
    spec = _spec(tmp_path, "patience=3", epochs=8)
    assert main(["train", str(spec), "--data", "synthetic:64", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert [r["epoch"] for r in read_metrics(out)] == [1, 2, 3, 4, 5, 6]
    assert printed[-1] == ("stopped early after epoch 6 of 8: val_acc did not improve for 3 epochs (patience=3; "
                           "best 70.00% at epoch 3); best.pt holds epoch 3 (val_acc 70.00%)")
    assert load_checkpoint(out / "best.pt")[1].epoch == 3 and load_checkpoint(out / "last.pt")[1].epoch == 6
    assert "patience  3" in "\n".join(printed) and "monitor   val_acc    (task classify's)" in "\n".join(printed)


def test_early_stopping_on_another_column_with_min_delta(tmp_path, monkeypatch, capsys):
    import specc.training.run as run_module

    losses = [2.0, 1.5, 1.45, 1.3, 1.26, 1.22, 1.2, 1.0]
    real = run_module.record
    monkeypatch.setattr(run_module, "record", lambda e, *a: {**real(e, *a), "train_loss": losses[e - 1]})
    result = train(Request(_spec(tmp_path, epochs=8), "synthetic:64", tmp_path / "run",
                           overrides={"patience": 2, "monitor": "train_loss", "min_delta": 0.1}))
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5, 6]  # 1.26, 1.22: not 0.1 below 1.3
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("stopped early after epoch 6 of 8: train_loss did not improve by more than 0.1 for "
                           "2 epochs (patience=2; best 1.3 at epoch 4); best.pt holds epoch ")


def test_plateau_cuts_the_rate_when_the_metric_is_flat(tmp_path, scripted):
    scripted[:] = [0.5, 0.6, 0.6, 0.6, 0.6, 0.7]
    out = tmp_path / "run"
    assert main(["train", str(_spec(tmp_path, "schedule=plateau lr_patience=2 gamma=0.5")), "--data",
                 "synthetic:64", "--quiet", "--out", str(out)]) == 0
    assert [r["lr"] for r in read_metrics(out)] == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.005, 0.005])


@pytest.mark.parametrize(("options", "epochs"), [("schedule=cosine warmup=2", 6),
                                                 ("schedule=plateau lr_patience=1 gamma=0.5", 6),
                                                 ("schedule=step step_size=2 gamma=0.5 patience=2", 4)])
def test_a_resumed_run_continues_the_schedule_and_the_stop_exactly(tmp_path, scripted, monkeypatch, options,
                                                                  epochs):
    scripted[:] = [0.5, 0.6, 0.6, 0.6, 0.7, 0.7]
    spec = _spec(tmp_path, options)
    straight = train(Request(spec, "synthetic:64", tmp_path / "straight", quiet=True))
    _interrupted_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        train(Request(spec, "synthetic:64", tmp_path / "split", quiet=True))
    assert load_checkpoint(tmp_path / "split" / "last.pt")[1].epoch == 3
    split = train(Request(spec, resume=tmp_path / "split", quiet=True))
    assert _strip(split.history) == _strip(straight.history)  # lr per epoch, metrics, the stop epoch
    assert len(straight.history) == epochs
    a, b = (load_checkpoint(tmp_path / name / "last.pt")[0] for name in ("straight", "split"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert split.best_epoch == straight.best_epoch


def test_three_epochs_then_three_more_on_resume_equal_six(tmp_path, scripted):
    scripted[:] = [0.5, 0.6, 0.6, 0.6, 0.6, 0.6]
    spec = _spec(tmp_path, "schedule=plateau lr_patience=1 gamma=0.5 warmup=1")
    main(["train", str(spec), "--data", "synthetic:64", "--quiet", "--out", str(tmp_path / "six")])
    main(["train", str(spec), "--data", "synthetic:64", "--quiet", "--out", str(tmp_path / "three"), "--epochs", "3"])
    assert main(["train", str(spec), "--resume", str(tmp_path / "three"), "--epochs", "6", "--quiet"]) == 0
    six, three = read_metrics(tmp_path / "six"), read_metrics(tmp_path / "three")
    assert _strip(six) == _strip(three)
    assert [r["lr"] for r in six] == pytest.approx([0.005, 0.01, 0.01, 0.005, 0.0025, 0.00125])


def test_an_early_stopped_run_resumes_only_with_more_patience(tmp_path, scripted, capsys):
    scripted[:] = [0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7]
    spec, out = _spec(tmp_path, "patience=2", epochs=8), tmp_path / "run"
    assert main(["train", str(spec), "--data", "synthetic:64", "--quiet", "--out", str(out)]) == 0
    assert len(read_metrics(out)) == 4
    capsys.readouterr()
    assert main(["train", str(spec), "--resume", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the run stopped early after epoch 4 of 8" in err and "Pass --patience N (more than 2)" in err
    assert main(["train", str(spec), "--resume", str(out), "--quiet", "--schedule", "cosine"]) == 2
    assert "--schedule cosine differs from the run's schedule=inverse" in capsys.readouterr().err
    assert main(["train", str(spec), "--resume", str(out), "--quiet", "--min_delta", "0.1"]) == 2
    assert main(["train", str(spec), "--resume", str(out), "--patience", "3"]) == 0
    assert [r["epoch"] for r in read_metrics(out)] == [1, 2, 3, 4, 5, 6, 7, 8]  # 0.7 at 5 resets the count
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["patience"] == 3 and config["origins"]["patience"] == "--patience"


# Refusals


@pytest.mark.parametrize(("line", "message"), [
    ("schedule=cos", "schedule must be one of inverse, exp, step, cosine, plateau; got `cos`"),
    ("warmup=-1", "warmup must be at least 0, got -1"),
    ("patience=1.5", "patience must be a whole number, got `1.5`"),
    ("gamma=1", "gamma must be in (0, 1), got 1"),
    ("step_size=0", "step_size must be at least 1, got 0"),
    ("lr_patience=0", "lr_patience must be at least 1, got 0"),
    ("min_delta=-0.1", "min_delta must be in [0, inf), got -0.1"),
    ("monitor=3", "monitor must be a name, got `3`"),
])
def test_specc_check_refuses_bad_values_naming_the_option(line, message):
    analysis = specc.check(f"input 4\nfc 2 softmax\ntrain {line}\n")
    assert not analysis.ok and [d.message for d in analysis.diagnostics] == [message]
    assert analysis.diagnostics[0].span.line == 3


@pytest.mark.parametrize(("args", "status", "message"), [
    (["--schedule", "cos"], 2, "--schedule should be 'inverse', 'exp', 'step', 'cosine' or 'plateau', got 'cos'"),
    (["--patience", "-1"], 2, "--patience should be greater than or equal to 0, got -1"),
    (["--schedule", "exp", "--decay", "1"], 2, "--decay is 1: schedule=exp multiplies the rate by (1 - decay)"),
    (["--warmup", "6"], 2, "--warmup is 6 but the run has 6 epochs (train option `epochs` (spec line 7))"),
    (["--monitor", "val_mae"], 2, "--monitor is val_mae, not a column the classify task's early stopping and "
                                  "plateau can watch: train_loss, train_acc, val_loss, val_acc, val_precision"),
])
def test_train_refuses_bad_flags_naming_them(tmp_path, capsys, args, status, message):
    assert main(["train", str(_spec(tmp_path)), "--data", "synthetic:64", "--quiet", *args]) == status
    assert message in capsys.readouterr().err


def test_train_refuses_a_bad_spec_option_naming_its_line(tmp_path, capsys):
    assert main(["train", str(_spec(tmp_path, "monitor=val_auc")), "--data", "synthetic:64", "--quiet"]) == 1
    assert "train option `monitor` (spec line 8) is val_auc, not a column" in capsys.readouterr().err
    assert main(["train", str(_spec(tmp_path, "warmup=9")), "--data", "synthetic:64", "--quiet"]) == 1
    assert "train option `warmup` (spec line 8) is 9 but the run has 6 epochs" in capsys.readouterr().err


def test_every_option_is_in_train_help_and_docs(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = capsys.readouterr().out
    docs = (Path(__file__).resolve().parent.parent / "docs" / "train.md").read_text()
    for name in ("schedule", "warmup", "step_size", "gamma", "lr_patience", "patience", "monitor", "min_delta"):
        assert f"--{name}" in shown and f"| `{name}` |" in docs, name
    assert "## Schedules and early stopping" in docs


def test_the_notebook_api_takes_the_options(tmp_path):
    result = specc.train(_spec(tmp_path), "synthetic:64", out=tmp_path / "run", quiet=True, schedule="step",
                         step_size=2, gamma=0.5, patience=5, monitor="val_loss", min_delta=0.0, warmup=1)
    assert [r["lr"] for r in result.history] == pytest.approx([0.005, 0.01, 0.01, 0.005, 0.005, 0.0025])
    with pytest.raises(TypeError, match="'monitor'"):
        specc.train(_spec(tmp_path), "synthetic:64", monitor=3)
    with pytest.raises(TypeError, match="'patience'"):
        specc.train(_spec(tmp_path), "synthetic:64", patience=2.5)
