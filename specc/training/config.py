"""The training configuration: hyperparameters from the course, their defaults
and why, and how the spec's `train` statement and the CLI flags combine.

Precedence: CLI flag > the spec's `train` statement > the default here. The
effective values and where each came from are printed and saved (config.json
and every checkpoint), so a run can be rebuilt from its checkpoint alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..errors import SpeccError
from ..hyperparameters import BOUNDS, TYPES
from ..hyperparameters import HYPERPARAMETERS as TABLE

Optimizer = Literal["sgd", "momentum", "rmsprop", "adam"]
Task = Literal["classify", "segment", "regress", "embed"]
Loss = Literal["ce", "bce", "mse", "mae", "huber", "triplet"]
Schedule = Literal["inverse", "exp", "step", "cosine", "plateau"]
Device = Literal["auto", "cpu", "cuda", "mps"]


def _fields() -> dict[str, Any]:
    """TrainConfig's fields from the hyperparameter table: type, default, bounds, and the reason as description.
    A choice is one of its words; None where the run decides (the task, the loss, the monitored column)."""
    def kind(h: Any) -> Any:
        # a choice: the Literal of the table's words
        words = Literal[h.choices] if h.kind == "choice" else TYPES[h.kind]  # type: ignore[valid-type]
        return words if h.default is not None else words | None

    return {h.name: (kind(h), Field(h.default, description=h.reason, **BOUNDS[h.kind])) for h in TABLE}


# Hyperparameters: the names of the spec's `train` statement, from specc.hyperparameters (their one home;
# the reason for each default is its field's description). allow_inf_nan=False: `--lr inf` is refused here,
# as `train lr=inf` is by specc check.
if TYPE_CHECKING:
    class TrainConfig(BaseModel):
        """What a type checker reads of the model made below from the table: its fields and their types
        (tests/test_tables.py holds them to the table)."""

        batch: int
        epochs: int
        task: Task | None
        loss: Loss | None
        margin: float
        optimizer: Optimizer
        lr: float
        beta: float
        beta1: float
        beta2: float
        eps: float
        decay: float
        schedule: Schedule
        warmup: int
        step_size: int
        gamma: float
        lr_patience: int
        patience: int
        monitor: str | None
        min_delta: float
        l2: float
        seed: int
        val: float
        droppath: float
        init: str | None
else:
    TrainConfig = create_model(
        "TrainConfig", __config__=ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False),
        __doc__="Hyperparameters: the names of the spec's `train` statement.", **_fields())


class RunOptions(BaseModel):
    """How to run (not what to learn): data source, device and speed switches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str
    # The fastest device present: CUDA, then Apple's MPS, then the CPU.
    device: Device = "auto"
    # Mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling): ~2x faster, same accuracy.
    amp: bool = True
    # NHWC tensors let cuDNN use tensor-core convolution kernels without layout transposes.
    channels_last: bool = True
    # Off by default: images of the wrong size are more often a mistake than a wish.
    resize: bool = False
    # CPU threads; None keeps torch's default (one per core). Small nets on a busy machine run faster on 1.
    threads: int | None = Field(None, ge=1)
    # --init: layers besides the last ones may be left as initialised (or the file's skipped); off, so that a
    # mapping that loads less than the user meant is refused rather than trained.
    partial: bool = False


HYPERPARAMETERS = tuple(TrainConfig.model_fields)


def merge(spec: Mapping[str, Any], spec_lines: Mapping[str, int], flags: Mapping[str, Any]
          ) -> tuple[TrainConfig, dict[str, str]]:
    """The effective TrainConfig and, for each option, where its value came from."""
    values, origins = {}, {}
    for name in HYPERPARAMETERS:
        if flags.get(name) is not None:
            values[name], origins[name] = flags[name], f"--{name}"
        elif name in spec:
            values[name], origins[name] = spec[name], f"spec line {spec_lines.get(name, '?')}"
        else:
            origins[name] = "default"
    config = validated(TrainConfig, values, origins)
    refuse_schedule(config, origins)
    return config, origins


def refuse_schedule(config: TrainConfig, origins: Mapping[str, str]) -> None:
    """What each option allows alone but the schedule cannot run: exp's (1 - decay) must stay positive, and
    warm-up must leave the run an epoch at the full rate (cosine decays over the epochs after it)."""
    if config.schedule == "exp" and config.decay >= 1:
        raise SpeccError(f"{named('decay', origins)} is {config.decay:g}: schedule=exp multiplies the rate by "
                         f"(1 - decay) each epoch, so decay must be below 1 (0.05 is the course's 0.95^epoch)",
                         status(origins, "decay"))
    if config.warmup >= config.epochs:
        raise SpeccError(f"{named('warmup', origins)} is {config.warmup} but the run has {config.epochs} epochs "
                         f"({named('epochs', origins)}): warm-up must leave at least one epoch after it",
                         status(origins, "warmup", "epochs"))


def named(name: str, origins: Mapping[str, str]) -> str:
    """An option as the user gave it: `--lr`, or train option `lr` (spec line 3)."""
    origin = origins.get(name, "default")
    return f"--{name}" if origin.startswith("--") else f"train option `{name}` ({origin})"


def status(origins: Mapping[str, str], *names: str) -> int:
    """The exit status of a refused value: 2 (usage) when a flag gave one of ``names``, else 1."""
    return 2 if any(origins.get(n, "").startswith("--") for n in names) else 1


def validated(kind: type[BaseModel], values: Mapping[str, Any], origins: Mapping[str, str]) -> Any:
    """Build a config; a bad value becomes a SpeccError naming the option and its origin."""
    try:
        return kind(**values)
    except ValidationError as exc:
        problems, flags = [], False
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            origin = origins.get(name, "")
            flags |= origin.startswith("--")
            where = f"--{name}" if origin.startswith("--") else f"train option `{name}` ({origin})"
            message = err["msg"].replace("Input should be", "should be")
            problems.append(f"{where} {message}, got {err.get('input')!r}")
        raise SpeccError("; ".join(problems), 2 if flags else 1) from exc  # a bad flag is a usage error


def describe(config: TrainConfig, origins: Mapping[str, str]) -> str:
    """One line per relevant option, e.g. `lr        0.002   (spec line 14)`."""
    shown = [n for n in HYPERPARAMETERS if relevant(config, n)]
    width = max([9, *map(len, shown)])  # lr_patience is wider than the others
    return "\n".join(f"  {n:<{width}} {getattr(config, n)!s:<10} ({origins.get(n, 'default')})" for n in shown)


def relevant(config: TrainConfig, name: str) -> bool:
    """Whether an option affects this run (beta1 does nothing for sgd)."""
    if name == "droppath":  # built into the module; shown where a spec sets it
        return getattr(config, name) > 0
    if name == "init":  # initial weights: shown where given
        return config.init is not None
    if name == "margin":
        return config.loss == "triplet"
    if name in ("task", "loss"):  # the run's task line says both, with where the task came from
        return False
    schedule = {"decay": ("inverse", "exp"), "step_size": ("step",), "gamma": ("step", "plateau"),
                "lr_patience": ("plateau",)}
    if name in schedule:
        return config.schedule in schedule[name]
    if name == "schedule":  # inverse is the rate decay runs have always had: shown as `decay`
        return config.schedule != "inverse"
    if name in ("warmup", "patience"):
        return getattr(config, name) > 0
    if name in ("monitor", "min_delta"):
        return config.patience > 0 or config.schedule == "plateau"
    uses = {"beta": ("momentum", "rmsprop"), "beta1": ("adam",), "beta2": ("adam",), "eps": ("rmsprop", "adam")}
    return config.optimizer in uses.get(name, (config.optimizer,))
