"""`specc train` as a library call: ``train(Request) -> Result``.

spec ─check→ config (spec, flags, or the run being resumed) ─build→ module
─data→ checked split ─epochs→ run directory (checkpoints, metrics, curves).

Everything that can be wrong with the spec, options or data is refused before
the first step. Each epoch ends with an atomic last.pt (and best.pt when the
validation accuracy improves), so killing a run loses at most the epoch in
progress; a non-finite loss stops it with the last good checkpoint intact.
The run folder is locked for the whole run (specc.training.lock); a resumed
run's lock is taken before its checkpoint is read.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..analysis import Analysis
from ..errors import SpeccError
from ..report.text import one_line
from ..runtime.checkpoint import CheckpointMeta, load_checkpoint, spec_sha256
from ..version import __version__
from .config import RunOptions, TrainConfig, describe, named, status
from .data import prepare
from .distributed import World, agree, detect, start, stop, together
from .finish import early_stop, finish_epoch, higher_better, plot, record, stop_diverged, stopped_by, watchable
from .lock import acquire, release
from .loop import (
    diverged,
    evaluate,
    learning_rate,
    plateau_factor,
    set_learning_rate,
    steps_per_epoch,
    train_epoch,
)
from .progress import Progress, say_error, summary_line
from .resume import check_state, checkpoint_of, refuse_backwards, repair_best
from .runlog import clean_stale, new_run_dir, write_json, write_text
from .setup import (
    Request,
    droppath_unused,
    engine,
    fresh_config,
    init_path,
    load_spec,
    pick_device,
    place,
    precision,
    resumed_config,
    run_options,
    spec_io,
    task_of,
    with_droppath,
)
from .state import Result, Run
from .tasks import Task

if TYPE_CHECKING:
    from .init import Mapping

__all__ = ["Request", "Result", "train"]


def train(request: Request) -> Result:
    """Train as asked; every user mistake is a SpeccError raised before the first step."""
    request = replace(request, spec=Path(request.spec), out=_path(request.out), resume=_path(request.resume))
    world = detect()
    analysis = load_spec(request.spec)
    if analysis.warnings and world.main and not request.quiet:
        from ..report import render

        say_error(render([analysis], "text", quiet=True, color=False))
    lock = None
    try:
        if request.resume:
            checkpoint = checkpoint_of(request.resume)
            lock = acquire(checkpoint.parent) if world.main else None  # before reading: one resume at a time
            resumed = _resume_checkpoint(request, analysis, checkpoint)
        else:
            resumed = None
        return _train(request, analysis, world, resumed)
    finally:
        release(lock)


def _train(request: Request, analysis: Analysis, world: World, resumed: tuple | None) -> Result:
    cfg, origins, opts = _settle(request, resumed[1] if resumed else None, analysis, world)
    from ..codegen.graph import idle_parameters
    from ..runtime.build import instantiate

    unused = droppath_unused(analysis, origins)
    if unused and world.main and not request.quiet:
        say_error(f"specc: warning: {unused}")
    analysis = with_droppath(analysis, cfg.droppath)

    io = spec_io(analysis)  # refuses what training cannot take (several outputs) before building
    task, cfg, origins = _task(io, cfg, origins)
    torch.manual_seed(cfg.seed)  # initial weights depend on the seed alone (and --init's file)
    net = instantiate(analysis)
    initial = _initial(request, analysis, net, cfg, origins, opts, world, resumed is not None)
    split = prepare(opts.data, io, cfg.val, cfg.seed, opts.resize, task)
    device = pick_device(opts.device, world)
    run_dir, fresh_lock = _run_dir(request, analysis, world)
    try:
        start(world, device)
        eng = engine(net, cfg, opts, io, task, len(split.y), device, world, idle_parameters(analysis.layers) > 0)
        run = Run(analysis, request.spec, cfg, {}, split, eng, place(split, device), world, run_dir,
                  Progress(request.quiet, enabled=world.main), best_score=math.inf * (-1 if task.higher else 1))
        run.config = _config(run, origins, opts)
        if initial is not None:
            run.config["init"] = initial.record()
        if resumed:
            _restore(run, *resumed)
        elif world.distributed:
            torch.manual_seed(cfg.seed + world.rank)  # different dropout masks on each rank
        result = _epochs(run)
        together(world)
        return result
    finally:
        stop(world)
        release(fresh_lock)


def _initial(request: Request, analysis: Analysis, net: torch.nn.Module, cfg: TrainConfig,
             origins: dict[str, str], opts: RunOptions, world: World, resumed: bool) -> Mapping | None:
    """--init's weights into the fresh module, their mapping printed; a resumed run has its own weights."""
    if cfg.init is None or resumed:
        return None
    from .init import load_initial

    mapping = load_initial(net, analysis, Path(cfg.init), opts.partial, origins.get("init", "--init"))
    if world.main and not request.quiet:
        Progress(request.quiet).say("\n".join(mapping.lines()))
    return mapping


def _task(io, cfg: TrainConfig, origins: dict[str, str]) -> tuple[Task, TrainConfig, dict[str, str]]:
    """The run's task and loss, settled and recorded in its config (a resumed run finds them there)."""
    task, how = task_of(io, cfg)
    origins = dict(origins)
    if cfg.task is None:
        origins["task"] = how
    if cfg.loss is None:
        origins["loss"] = f"task {task.name}'s"
    monitor = cfg.monitor or task.monitor
    if monitor not in watchable(task):
        raise SpeccError(f"{named('monitor', origins)} is {monitor}, not a column the {task.name} task's early "
                         f"stopping and plateau can watch: {', '.join(watchable(task))}", status(origins, "monitor"))
    if cfg.monitor is None:
        origins["monitor"] = f"task {task.name}'s"
    return task, cfg.model_copy(update={"task": task.name, "loss": task.loss_name, "monitor": monitor}), origins


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def _settle(request: Request, meta: CheckpointMeta | None, analysis: Analysis, world: World
            ) -> tuple[TrainConfig, dict[str, str], RunOptions]:
    """The effective configuration, refusing combinations that cannot run."""
    flags = {k: v for k, v in request.overrides.items() if v is not None}
    if "init" in flags:
        flags["init"] = init_path(flags["init"], "--init", request.spec)
    cfg, origins = resumed_config(meta, flags) if meta else fresh_config(analysis, flags)
    if meta is None and cfg.init is not None and not origins["init"].startswith("--"):
        cfg = cfg.model_copy(update={"init": init_path(cfg.init, origins["init"], request.spec)})
    if meta is not None and meta.epoch >= cfg.epochs:
        raise SpeccError(f"the run in '{request.resume}' already finished its {meta.epoch} epochs; "
                         f"pass --epochs N (more than {meta.epoch}) to train it further", 2)
    if cfg.batch < world.size:
        raise SpeccError(f"batch {cfg.batch} is smaller than the {world.size} processes; each process needs "
                         f"at least one sample of every mini-batch (batch is the global mini-batch size)", 2)
    opts = run_options(request, meta)
    if opts.threads is not None:
        torch.set_num_threads(opts.threads)
    return cfg, origins, opts


def _resume_checkpoint(request: Request, analysis: Analysis, path: Path
                       ) -> tuple[dict, CheckpointMeta, dict]:
    state, meta, rest = load_checkpoint(path)
    if meta.spec_sha256 != spec_sha256(analysis.source):
        raise SpeccError(f"--resume {request.resume}: that run trained a different spec (model '{meta.model_name}', "
                         f"from {meta.spec_path}) than {request.spec}; resume it with its own spec "
                         f"({path.parent / 'spec.cnn'}) or start a new run")
    if request.out is not None and request.out.resolve() != path.parent.resolve():
        raise SpeccError(f"--out {request.out} with --resume {request.resume}: a resumed run writes to its own "
                         f"folder; leave --out out", 2)
    refuse_backwards(path, meta)
    check_state(path, meta, rest.get("extra", {}))
    return state, meta, rest


def _run_dir(request: Request, analysis: Analysis, world: World) -> tuple[Path | None, Path | None]:
    """The run folder, and its lock when taken here (a resumed run's was taken before its checkpoint was read)."""
    if not world.main:
        return None, None
    if request.resume is not None:
        folder = request.resume if request.resume.is_dir() else request.resume.parent
        clean_stale(folder)  # the lock is held: no live run's temporary files are removed
        note = repair_best(folder)
        if note and not request.quiet:
            say_error(f"specc: note: {note}")
        return folder, None
    return new_run_dir(request.out, _model_name(analysis))


def _model_name(analysis: Analysis) -> str:
    """The name of the model a run trains: its spec checked without errors, so it has a model."""
    return analysis.checked_model.name


def _config(run: Run, origins: dict[str, str], opts: RunOptions) -> dict[str, Any]:
    split, eng = run.split, run.eng
    return {
        "spec": str(run.spec_path), "model": _model_name(run.analysis),
        "spec_sha256": spec_sha256(run.analysis.source),
        "train": run.cfg.model_dump(), "origins": origins, "run": opts.model_dump(),
        "data": {"source": opts.data, "scaling": split.scaling, "validation": split.held_out,
                 "train_samples": len(split.y), "val_samples": len(split.y_val), "class_names": split.class_names,
                 **({"input_scaling": split.scalings} if split.scalings else {})},
        "runtime": {"device": str(eng.device), "precision": precision(eng), "channels_last": eng.channels_last,
                    "world_size": run.world.size, "cpu_threads": torch.get_num_threads()},
        "specc_version": __version__, "torch_version": torch.__version__,
    }


def _restore(run: Run, state: dict, meta: CheckpointMeta, rest: dict) -> None:
    """Weights, optimizer, loss scale, RNG, history and best score of the resumed run."""
    try:
        run.eng.net.load_state_dict(state, strict=True)
        if rest.get("optimizer") is not None:
            run.eng.optimizer.load_state_dict(rest["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise SpeccError(f"--resume: the checkpoint does not fit the module and optimizer: {exc}") from exc
    try:
        _restore_progress(run, meta, rest.get("extra", {}))
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # Only weights and spec carry a sha256; a damaged RNG state or history is refused here.
        raise SpeccError(f"--resume: the checkpoint's training state is damaged ({type(exc).__name__}: {exc})") \
            from exc


def _restore_progress(run: Run, meta: CheckpointMeta, extra: dict) -> None:
    if run.eng.scaler is not None and extra.get("scaler"):
        run.eng.scaler.load_state_dict(extra["scaler"])
    if run.world.distributed:
        torch.manual_seed(run.cfg.seed + run.world.rank + 1000 * meta.epoch)
    elif "rng" in extra:
        torch.set_rng_state(extra["rng"])  # dropout continues exactly where it stopped
        if run.eng.device.type == "cuda" and len(extra.get("cuda_rng", [])) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(extra["cuda_rng"])
    run.history = list(extra.get("history", []))
    best = extra.get("best", {})
    if "score" in best or "val_acc" in best:  # "val_acc": a classifier's run from before tasks
        run.best_score, run.best_epoch = float(best.get("score", best.get("val_acc"))), int(best.get("epoch", 0))


def _announce(run: Run) -> None:
    split, cfg = run.split, run.cfg
    start = run.history[-1]["epoch"] if run.history else 0
    resumed = f", resuming after epoch {int(start)}" if start else ""
    rt = run.config["runtime"]
    world = f", {rt['world_size']} processes" if rt["world_size"] > 1 else ""
    run.progress.say(
        f"specc train: {one_line(run.analysis)} ({run.spec_path}){resumed}\n"
        f"  task      {run.eng.task.name} ({run.config['origins'].get('task', 'default')}): "
        f"{run.eng.task.describe()}\n"
        f"  data      {run.config['data']['source']}: {len(split.y):,} train / {len(split.y_val):,} validation "
        f"({split.held_out}); {split.scaling}\n"
        f"  device    {rt['device']}, {rt['precision']}{', channels_last' * rt['channels_last']}{world}\n"
        f"{describe(cfg, run.config['origins'])}\n  run dir   {run.run_dir}")


def _epochs(run: Run) -> Result:
    cfg, eng = run.cfg, run.eng
    x, y, x_val, y_val = run.data
    start = run.saved_epoch = int(run.history[-1]["epoch"]) if run.history else 0
    ended = early_stop(run)  # a resumed run that had already stopped early
    if ended:
        raise SpeccError(f"--resume: the run {ended}. Pass --patience N (more than {cfg.patience}), or "
                         f"--patience 0, to train it further", 2)
    seconds = images = 0.0
    try:
        if run.world.main:
            assert run.run_dir is not None  # rank 0 has the run folder (_run_dir)
            write_json(run.run_dir / "config.json", run.config)
            write_text(run.run_dir / "spec.cnn", run.analysis.source)
        _announce(run)
        monitor = cfg.monitor or eng.task.monitor
        higher, stop = higher_better(eng.task, monitor), None
        for epoch in range(start + 1, cfg.epochs + 1):
            lr = learning_rate(cfg, epoch) * plateau_factor(cfg, run.history, monitor, higher)
            set_learning_rate(eng.optimizer, lr)
            report = run.progress.epoch(epoch, cfg.epochs, steps_per_epoch(len(y), cfg.batch, run.world))
            try:
                trained = train_epoch(eng, x, y, cfg, epoch, report)
            finally:
                run.progress.end_epoch()
            if agree(diverged(trained, eng.net), run.world, eng.device):
                stop_diverged(run, epoch, lr, trained)
            held = evaluate(eng, x_val, y_val, 2 * cfg.batch)
            seconds, images = seconds + trained.seconds, images + trained.count
            finish_epoch(run, record(epoch, lr, trained, held))
            stop = early_stop(run)
            if stop:
                break
        plot(run, failing=False)
        if run.world.main:  # the final weights on the validation data, in the task's pictures
            assert run.run_dir is not None  # rank 0 has the run folder (_run_dir)
            eng.task.review(eng.net, x_val, y_val, run.split.class_names, run.run_dir,
                            f"{_model_name(run.analysis)}: validation after epoch {run.saved_epoch}")
    except BaseException as exc:
        plot(run, failing=True)
        stopped = stopped_by(run, exc)
        if stopped is exc:
            raise
        raise stopped from exc
    rate = images / seconds if seconds else 0.0
    task = eng.task
    run.progress.say(summary_line(task.monitor, run.best_score, run.best_epoch, seconds, rate, str(run.run_dir)))
    if stop:  # the last line: why the run ended before its epochs, and which epoch best.pt holds
        run.progress.say(stop)
    at_best = next((r for r in run.history if r["epoch"] == run.best_epoch), {})
    return Result(run.run_dir, run.history, float(at_best.get("val_acc", math.nan)), run.best_epoch, seconds, rate,
                  task.name, task.monitor, run.best_score)
