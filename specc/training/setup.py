"""Everything decided before the first step: the spec, the configuration (from
spec, flags or a run being resumed), the device, where the data lives, and
the Engine (module, optimizer, mixed precision) that the loop drives.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..analysis import Analysis
from ..errors import SpeccError
from ..ir import Model
from ..runtime.checkpoint import CheckpointMeta
from ..runtime.samples import Entry
from ..runtime.store import Stored
from .config import HYPERPARAMETERS, RunOptions, TrainConfig, merge, validated
from .data import SpecIO, Split
from .distributed import World, wrap
from .inputs import Inputs, each, mapped
from .loop import Engine, Logits, optimizer
from .tasks import Task


@dataclass(frozen=True)
class Request:
    """What `specc train` was asked to do (the CLI's options, as values)."""

    spec: Path
    data: str | None = None
    out: Path | None = None
    resume: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # hyperparameter flags given
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    resize: bool | None = None
    quiet: bool = False
    threads: int | None = None
    partial: bool = False  # --partial: --init may leave layers besides the last ones as initialised


def load_spec(path: Path) -> Analysis:
    """The checked spec, read as `specc check` reads it ([tool.specc] included); errors are refused."""
    from ..source import read_ok

    return read_ok(path, refusal="not training")


def spec_io(analysis: Analysis) -> SpecIO:
    """The spec's input and output as training needs them, with the lines to cite."""
    model, last = analysis.checked_model, analysis.layers[-1] if analysis.layers else None
    assert model.input is not None  # training refuses a spec with errors (load_spec)
    one_output(model)
    output = tuple(int(d or 0) for d in analysis.output or ())  # known: the spec checked without errors
    if last is None:
        raise SpeccError("the spec has no layers: there is nothing to train")
    # A 1x1xK map (global average pooling, an all-convolutional net) is K class scores, as a vector is.
    scores = output[0] if len(output) == 1 else output[2] if len(output) == 3 and output[:2] == (1, 1) else 0
    binary = analysis.final_activation == "sigmoid" and scores == 1
    # every input (each known: the spec checked without errors) when there are several; () for one
    inputs = tuple(Entry(i.name, tuple(i.shape or ()), i.span.line) for i in model.inputs) \
        if len(model.inputs) > 1 else ()
    return SpecIO(tuple(model.input), model.input_span.line, scores, last.layer.line, binary, inputs, output,
                  analysis.final_activation)


def task_of(io: SpecIO, cfg: TrainConfig) -> tuple[Task, str]:
    """The run's task (written or read from the spec) and where it came from; one that does not fit is refused."""
    from .tasks import resolve

    return resolve(io, cfg.task, cfg.loss, cfg.margin)


def one_output(model: Model) -> None:
    """Training takes a network of one output, its last line (spec-io §2: the tasks of several come later)."""
    if not model.declared_outputs or model.declared_outputs == (model.layers[-1].name,):
        return
    names = ", ".join(model.declared_outputs)
    what = f"{len(model.declared_outputs)} outputs ({names})" if len(model.declared_outputs) > 1 else \
        f"its output {names} above its last line ({model.layers[-1].name})"
    raise SpeccError(f"the spec returns {what}: specc train trains a network of one output, its last line; "
                     f"train a copy that ends at the head to train and has no `output` line", 2)


def fresh_config(analysis: Analysis, flags: dict[str, Any]) -> tuple[TrainConfig, dict[str, str]]:
    model = analysis.checked_model  # training refuses a spec with errors (load_spec): it has a model
    return merge(model.train, {k: s.line for k, s in model.train_spans.items()}, flags)


def with_droppath(analysis: Analysis, rate: float) -> Analysis:
    """The spec as the run builds it: its bare `droppath` lines at the rates ``rate`` gives them.

    specc check resolves those rates from `train droppath=`; a run's droppath (from
    --droppath, or the one a resumed run recorded) resolves them again, as a flag
    overrides every other `train` option. The module's weights do not depend on it.
    """
    from ..kinds.dropout import rescheduled

    model = analysis.checked_model  # training refuses a spec with errors (load_spec): it has a model
    if float(model.train.get("droppath", 0.0)) == rate:  # type: ignore[arg-type]  # checked by its train checker
        return analysis
    layers = rescheduled([r.layer for r in analysis.layers], rate)
    reports = tuple(r._replace(layer=layer) for r, layer in zip(analysis.layers, layers))
    return analysis._replace(layers=reports, model=model._replace(
        layers=tuple(rescheduled(list(model.layers), rate)), train={**model.train, "droppath": rate}))


def droppath_unused(analysis: Analysis, origins: dict[str, str]) -> str | None:
    """A warning for --droppath on a spec with no bare `droppath` line, where it changes nothing."""
    if origins.get("droppath") != "--droppath" or any(
            r.layer.kind == "droppath" and getattr(r.layer, "scheduled", False) for r in analysis.layers):
        return None
    return ("--droppath changes nothing here: it sets the rates of bare `droppath` lines, and the spec has none "
            "(a `droppath R` line keeps its R)")


def resumed_config(meta: CheckpointMeta, flags: dict[str, Any]) -> tuple[TrainConfig, dict[str, str]]:
    """The run's own hyperparameters; only --epochs and --patience may change (how long to train, not how:
    the epochs already trained are what a run with the new value would have trained). A run from before an
    option existed has its default."""
    defaults = {name: field.default for name, field in TrainConfig.model_fields.items()}
    saved, origins = {**defaults, **meta.config["train"]}, dict(meta.config.get("origins", {}))
    for name in HYPERPARAMETERS:
        value = flags.get(name)
        if value is None or value == saved.get(name):
            continue
        if name not in ("epochs", "patience"):
            raise SpeccError(f"--{name} {value} differs from the run's {name}={saved[name]}; a resumed run keeps "
                             f"its hyperparameters (start a new run to change them)", 2)
        saved[name], origins[name] = value, f"--{name}"
    return validated(TrainConfig, saved, origins), origins


def init_path(written: str, origin: str, spec: Path) -> str:
    """`train init=FILE` is relative to the spec's folder, --init FILE to the working directory: absolute,
    so that config.json names the file wherever the run is resumed from."""
    base = Path.cwd() if origin.startswith("--") else spec.parent
    return os.path.normpath(os.path.join(os.path.abspath(base), os.path.expanduser(written)))


def run_options(request: Request, meta: CheckpointMeta | None) -> RunOptions:
    saved = meta.config.get("run", {}) if meta is not None else {}
    data = request.data or saved.get("data")
    if data is None:
        raise SpeccError("--data is required: digits, synthetic, an .npz or .h5 file, or a folder of images", 2)
    resize = request.resize if request.resize is not None else saved.get("resize", False)
    limit = max_threads()
    if request.threads is not None and not 1 <= request.threads <= limit:  # libgomp crashes on 100,000
        raise SpeccError(f"--threads {request.threads}: give 1 to {limit} (4 per CPU core here)", 2)
    values = dict(data=data, device=request.device, amp=request.amp, channels_last=request.channels_last,
                  resize=resize, threads=request.threads, partial=request.partial)
    return validated(RunOptions, values, {k: f"--{k}" for k in values})


def max_threads() -> int:
    """The most CPU threads --threads accepts: 4 per core (more only adds contention)."""
    return 4 * (os.cpu_count() or 1)


def pick_device(name: str, world: World) -> torch.device:
    """--device: auto prefers CUDA, then MPS, then the CPU; under torchrun, GPU = LOCAL_RANK."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise SpeccError(f"--device cuda: no CUDA device is available to torch {torch.__version__}", 2)
        if world.local_rank >= torch.cuda.device_count():
            raise SpeccError(f"LOCAL_RANK {world.local_rank} but only {torch.cuda.device_count()} GPUs here", 2)
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    if name == "mps" and not has_mps:
        raise SpeccError("--device mps: Apple's MPS backend is not available here", 2)
    return torch.device(name)


def place(split: Split, device: torch.device) -> tuple[Inputs, torch.Tensor, Inputs, torch.Tensor]:
    """The data on the device when it fits comfortably (a quarter of free memory), else left in host memory.
    Images in the on-disk cache stay there: each mini-batch is read into host memory (Engine.batch)."""
    tensors = (split.x, split.y, split.x_val, split.y_val)
    if device.type == "cpu":
        return tensors
    size = sum(t.numel() * t.element_size() for part in tensors if not isinstance(part, Stored) for t in each(part))
    fits = device.type != "cuda" or size < torch.cuda.mem_get_info(device)[0] / 4
    move = lambda t: t.to(device)  # noqa: E731
    moved = lambda part: part if isinstance(part, Stored) else mapped(part, move)  # noqa: E731
    return (moved(split.x), move(split.y), moved(split.x_val), move(split.y_val)) if fits else tensors


def engine(net: torch.nn.Module, cfg: TrainConfig, opts: RunOptions, io: SpecIO, task: Task, n_train: int,
           device: torch.device, world: World, unused: bool = False) -> Engine:
    """Module on its device (channels_last for images on CUDA), optimizer, mixed precision.
    ``unused``: the spec has layers with parameters that its output does not depend on."""
    cuda = device.type == "cuda"
    channels_last = cuda and opts.channels_last and len(io.shape) == 3
    # Module.to takes memory_format; torch's stubs leave it out
    net = net.to(device, memory_format=torch.channels_last) if channels_last else net.to(device)  # type: ignore[call-overload]
    amp = scaler = None
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed input shapes: pick the fastest kernels once
    if cuda and opts.amp:
        amp = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    return Engine(wrap(Logits(net, task.reads_logits), world, device, unused), net, optimizer(net, cfg, n_train),
                  device, task, world, amp, scaler, channels_last)


def precision(eng: Engine) -> str:
    names: dict[torch.dtype | None, str] = {torch.bfloat16: "bf16 autocast",
                                             torch.float16: "fp16 autocast + loss scaling"}
    return names.get(eng.amp, "fp32")
