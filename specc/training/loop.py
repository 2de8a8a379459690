"""One epoch of training and one pass of evaluation, and the pieces they use:
the optimizer the course describes, its learning-rate schedules, and index
batching over in-memory tensors. The loss and the metrics are the task's
(specc.training.tasks).

Small in-memory data sets need no DataLoader: each epoch draws a permutation
from the seed (so shuffling needs no saved state to resume), slices it into
mini-batches and gathers them with one indexing operation, on the GPU when the
data lives there. Under torchrun every mini-batch is split across the ranks.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

import torch
from torch import nn

from .config import TrainConfig
from .distributed import World, total
from .inputs import Batch, Inputs, each, mapped, samples

if TYPE_CHECKING:
    from .tasks import Task


class Generated(Protocol):
    """What the built module has besides nn.Module's: the scores before the spec's final activation
    (specc.codegen.module_text writes the method), from every input in the spec's order."""

    def logits(self, *x: torch.Tensor) -> torch.Tensor: ...


class Logits(nn.Module):
    """Calls the built module's ``logits`` as ``forward``, so that DDP sees the call; ``logits=False``:
    its ``forward`` (a task whose loss reads the output after the final activation)."""

    def __init__(self, net: nn.Module, logits: bool = True):
        super().__init__()
        self.net, self.logits = net, logits

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        if not self.logits:
            return self.net(*x)
        return cast(Generated, self.net).logits(*x)  # net is the built module (runtime.build.instantiate)


@dataclass
class Engine:
    """What a training step needs; built once per run."""

    model: nn.Module  # Logits(net), DDP-wrapped under torchrun
    net: nn.Module  # the built spec module (what checkpoints hold)
    optimizer: torch.optim.Optimizer
    device: torch.device
    task: Task  # its loss and metrics
    world: World
    amp: torch.dtype | None = None  # autocast dtype on CUDA
    scaler: torch.amp.GradScaler | None = None  # for fp16 only
    channels_last: bool = False

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def zeros(self) -> torch.Tensor:
        """loss·n, then the task's sums. float64 keeps long epochs exact; MPS has no float64."""
        return torch.zeros(1 + self.task.width, device=self.device,
                           dtype=torch.float32 if self.device.type == "mps" else torch.float64)

    def reduce(self, sums: torch.Tensor, count: int) -> tuple[float, list[float], float]:
        """(loss·n, the task's sums, n) summed over all ranks, as Python floats."""
        both = torch.cat([sums, sums.new_tensor([count])])
        values = total(both, self.world).tolist()
        return values[0], values[1:-1], values[-1]

    def batch(self, x: Inputs, y: torch.Tensor, idx: torch.Tensor) -> tuple[Batch, torch.Tensor]:
        """Gather a mini-batch where the data lives and move it to the device (every input's, for several).

        Data kept in host memory (too big for the GPU) is gathered into pinned
        memory, so the copy overlaps with the previous step's kernels.
        """
        return mapped(x, lambda t: self._moved(t[idx.to(t.device, non_blocking=True)])), \
            self._moved(y[idx.to(y.device, non_blocking=True)])

    def _moved(self, t: torch.Tensor) -> torch.Tensor:
        if t.device.type == "cpu" and self.device.type == "cuda":
            t = t.pin_memory()
        t = t.to(self.device, non_blocking=True)
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last and t.ndim == 4 else t


@dataclass(frozen=True)
class EpochSums:
    """An epoch's figures (all ranks): loss·samples, samples, and the task's metrics."""

    loss: float
    count: float
    metrics: dict[str, float]
    seconds: float = 0.0

    @property
    def mean_loss(self) -> float:
        return self.loss / self.count if self.count else math.nan


def optimizer(net: nn.Module, cfg: TrainConfig, n_train: int) -> torch.optim.Optimizer:
    """The course's optimizers; L2 applies to conv/fc weights only, as weight_decay = l2 / m.

    The course's cost adds (lambda / 2m)·sum ||W||^2; its gradient (lambda / m)·W
    is exactly what torch's weight_decay adds to each weight's gradient.
    """
    weights = [p for p in net.parameters() if p.ndim > 1]
    others = [p for p in net.parameters() if p.ndim <= 1]  # biases, batchnorm scale and shift
    groups = [{"params": weights, "weight_decay": cfg.l2 / n_train}, {"params": others, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr)
    if cfg.optimizer == "momentum":
        return _course_momentum(groups, cfg)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=cfg.lr, alpha=cfg.beta, eps=cfg.eps)
    return torch.optim.Adam(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)


def _course_momentum(groups: list[dict], cfg: TrainConfig) -> torch.optim.Optimizer:
    """The course's v = beta·v + (1 - beta)·dW from v = 0, then W -= lr·v.

    torch's SGD gives that with dampening=beta, except that it starts v at the
    first gradient; starting from zero buffers makes the first step match too.
    """
    opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.beta, dampening=cfg.beta)
    for group in groups:
        for p in group["params"]:
            opt.state[p]["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    return opt


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """The rate of 1-based ``epoch``, from the epoch alone (a resumed run computes it again, as a straight one did).

    Warm-up: epoch e <= N = warmup runs at lr·e/(N+1) (torch's LinearLR from 1/(N+1), one step per epoch).
    Then the schedule, from its own index t = e - 1 - N (0 at the first epoch after warm-up):
    inverse lr / (1 + decay·t) (the course's decay), exp lr·(1 - decay)^t (the course's 0.95^t at decay=0.05),
    step lr·gamma^floor(t / step_size), cosine lr·(1 + cos(π·t/T)) / 2 over the T = epochs - N epochs after
    warm-up (reaching 0 as the run ends), plateau lr (times plateau_factor: its cuts depend on the metrics).
    """
    if epoch <= cfg.warmup:
        return cfg.lr * epoch / (cfg.warmup + 1)
    t = epoch - 1 - cfg.warmup
    if cfg.schedule == "inverse":
        return cfg.lr / (1.0 + cfg.decay * t)
    if cfg.schedule == "exp":
        return cfg.lr * (1.0 - cfg.decay) ** t
    if cfg.schedule == "step":
        return cfg.lr * cfg.gamma ** (t // cfg.step_size)
    if cfg.schedule == "cosine":
        return cfg.lr * (1.0 + math.cos(math.pi * t / (cfg.epochs - cfg.warmup))) / 2.0
    return cfg.lr


def improves(value: float, best: float, higher: bool, min_delta: float) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (NaN never does)."""
    return value > best + min_delta if higher else value < best - min_delta


def stalled(values: Sequence[float], higher: bool, min_delta: float) -> tuple[int, int]:
    """(epochs since the last improvement by more than min_delta, the 1-based epoch of that improvement; 0: none)
    of a metric's values by epoch: early stopping's counter, computed from the history alone."""
    best, best_epoch = -math.inf if higher else math.inf, 0
    for epoch, value in enumerate(values, 1):
        if improves(value, best, higher, min_delta):
            best, best_epoch = value, epoch
    return len(values) - best_epoch, best_epoch


def plateau_cuts(cfg: TrainConfig, values: Sequence[float], higher: bool) -> int:
    """How often schedule=plateau has cut the rate after these values of the monitored metric, one per epoch:
    after each run of lr_patience epochs (after warm-up) that did not improve on the best by more than min_delta.
    Replayed from the history, so a resumed run cuts where a straight one did. torch's ReduceLROnPlateau with
    patience=lr_patience - 1 (torch cuts after *more* than patience bad epochs), threshold_mode="abs"."""
    best, wait, cuts = -math.inf if higher else math.inf, 0, 0
    for value in values[cfg.warmup:]:
        if improves(value, best, higher, cfg.min_delta):
            best, wait = value, 0
            continue
        wait += 1
        if wait >= cfg.lr_patience:
            cuts, wait = cuts + 1, 0
    return cuts


def plateau_factor(cfg: TrainConfig, history: Sequence[Mapping[str, float]], monitor: str, higher: bool) -> float:
    """What learning_rate is multiplied by after the epochs of ``history``: gamma^cuts under schedule=plateau
    (the cuts of the ``monitor`` column's values), else 1."""
    if cfg.schedule != "plateau":
        return 1.0
    return cfg.gamma ** plateau_cuts(cfg, [float(r[monitor]) for r in history], higher)


def set_learning_rate(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def steps_per_epoch(n: int, batch: int, world: World) -> int:
    full, rest = divmod(n, batch)
    return full + (1 if rest >= world.size else 0)


def batches(n: int, batch: int, seed: int, epoch: int, world: World) -> list[torch.Tensor]:
    """This rank's share of each shuffled mini-batch of an epoch (same order on every rank)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    out = []
    for start in range(0, n, batch):
        chunk = order[start:start + batch]
        if len(chunk) < world.size:
            break  # every rank must take a step; a sliver too small to share is skipped
        out.append(chunk[world.rank::world.size])
    return out


def step_sums(task: Task, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """What a batch adds to the epoch's sums: loss·n, then the task's."""
    return torch.cat([(loss.detach().to(dtype) * len(y)).reshape(1), task.sums(out.detach(), y).to(dtype)])


def train_epoch(engine: Engine, x: Inputs, y: torch.Tensor, cfg: TrainConfig, epoch: int,
                report: Callable[[int, torch.Tensor, int], None]) -> EpochSums:
    """One pass over the training data; ``report(step, sums, count)`` feeds the progress bar."""
    engine.model.train()
    sums, count = engine.zeros(), 0  # loss·n and correct stay on the device: no sync per step
    parts = batches(samples(x), cfg.batch, cfg.seed, epoch, engine.world)
    start = time.perf_counter()
    for step, idx in enumerate(parts, 1):
        xb, yb = engine.batch(x, y, idx)
        with engine.autocast():
            out = engine.model(*each(xb))
        loss = engine.task.loss(out, yb)
        engine.optimizer.zero_grad(set_to_none=True)
        if engine.scaler is not None:
            engine.scaler.scale(loss).backward()
            engine.scaler.step(engine.optimizer)
            engine.scaler.update()
            loss = torch.where(torch.isfinite(loss), loss, torch.zeros_like(loss))  # a skipped fp16 step
        else:
            loss.backward()
            engine.optimizer.step()
        sums += step_sums(engine.task, out, yb, loss, sums.dtype)
        count += len(yb)
        report(step, sums, count)
    loss_sum, task_sums, total_count = engine.reduce(sums, count)  # waits for the device: the time is real
    metrics = engine.task.metrics(task_sums, total_count)
    return EpochSums(loss_sum, total_count, {k: metrics[k] for k in engine.task.train_columns},
                     time.perf_counter() - start)


@torch.no_grad()
def evaluate(engine: Engine, x: Inputs, y: torch.Tensor, batch: int) -> EpochSums:
    """Loss and the task's metrics on held-out data, in eval mode (dropout off, batchnorm running stats).

    Each rank scores its share and the sums are added up; a task that needs every held-out output
    at once (embed: its pairs span batches) is scored whole on every rank, which then agree."""
    model = engine.model
    if engine.world.distributed:  # no DDP sync for inference
        from torch.nn.parallel import DistributedDataParallel

        assert isinstance(model, DistributedDataParallel)  # distributed.wrap made it so
        model = model.module
    model.eval()
    task = engine.task
    collects = task.collects
    sums, count, outs = engine.zeros(), 0, []
    mine = torch.arange(samples(x)) if collects else torch.arange(engine.world.rank, samples(x), engine.world.size)
    for start in range(0, len(mine), batch):
        xb, yb = engine.batch(x, y, mine[start:start + batch])
        with engine.autocast():
            out = model(*each(xb))
        loss = task.loss(out, yb)
        sums += step_sums(task, out, yb, loss, sums.dtype)
        count += len(yb)
        if collects:
            outs.append(out.detach().float().cpu())
    if collects:
        loss_sum, total_count = float(sums[0]), float(count)
        found = task.evaluate(torch.cat(outs) if outs else torch.zeros(0), y.cpu())
        return EpochSums(loss_sum, total_count, found)
    loss_sum, task_sums, total_count = engine.reduce(sums, count)
    return EpochSums(loss_sum, total_count, task.metrics(task_sums, total_count))


def diverged(epoch: EpochSums, net: nn.Module) -> bool:
    """A non-finite loss, or weights that have become non-finite (fp16 steps skip bad losses)."""
    if not math.isfinite(epoch.loss):
        return True
    return not all(bool(torch.isfinite(p).all()) for p in net.parameters())
