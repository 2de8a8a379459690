"""What `specc export` exports: a run directory, a checkpoint or a spec, loaded as
an eval-mode module together with its checked spec and what it knows about itself.

Telling sources apart: a folder is a run directory (its best checkpoint); a
``.cnn`` file is a spec; ``.pt``/``.pth``/``.ckpt`` files, and any file that
starts like a torch save (a zip archive, or a legacy pickle), are checkpoints;
any other file that reads as UTF-8 text is a spec. Checkpoints are read only
through :mod:`specc.runtime.checkpoint` (``weights_only``: nothing is unpickled).
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..analysis import Analysis
from ..errors import SpeccError
from ..files import kind, stat_of
from .task import read_from_spec, recorded, threshold

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
# torch.save writes a zip archive; files from torch < 1.6 begin with a pickle protocol byte.
_CHECKPOINT_MAGIC = (b"PK\x03\x04", b"\x80")
# What specc train feeds a network read from image files (uint8 pixels); a checkpoint that records
# its data's scaling (the digits set is 0..16 / 16) overrides it.
DEFAULT_SCALING = "uint8 / 255"


@dataclass(frozen=True)
class Source:
    """A module ready to export and the facts the ONNX metadata records."""

    module: torch.nn.Module
    analysis: Analysis  # the checked spec: input and output shapes
    name: str  # the model's name, as the spec or the checkpoint gives it
    kind: str  # "run", "checkpoint" or "spec"
    weights: str  # where the weights come from, in words
    class_names: tuple[str, ...] | None = None
    input_scaling: str = DEFAULT_SCALING
    warnings: tuple[str, ...] = ()  # e.g. a run's best.pt that an interrupted copy left behind
    task: str | None = None  # spec-tasks §1: what the run trained (or the spec's task); None where unknown
    threshold: float | None = None  # embed: the run's verification threshold (val_threshold of its epoch)

    @property
    def random_weights(self) -> bool:
        return self.kind == "spec"


def kind_of(path: Path) -> str:
    """"run", "checkpoint" or "spec" for an existing path (SpeccError, status 2, if missing)."""
    found = stat_of(path)
    if found is None:
        raise SpeccError(f"cannot read '{path}': no such file or folder", 2)
    if stat.S_ISDIR(found.st_mode):
        return "run"
    if not stat.S_ISREG(found.st_mode):  # reading a FIFO would wait forever
        raise SpeccError(f"cannot read '{path}': it is {kind(found)}, not a file or folder", 2)
    if path.suffix == ".cnn":
        return "spec"
    if path.suffix in CHECKPOINT_SUFFIXES:
        return "checkpoint"
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError as exc:
        raise SpeccError(f"cannot read '{path}': {exc.strerror or exc}", 2) from exc
    if head.startswith(_CHECKPOINT_MAGIC):
        return "checkpoint"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return "checkpoint"
    return "spec"


def load_source(path: str | Path, spec: str | Path | None = None, seed: int | None = None,
                before_build: Callable[[Analysis], None] | None = None) -> Source:
    """Load what ``path`` names; ``spec`` must match a checkpoint's, ``seed`` seeds a spec's random weights.

    ``before_build(analysis)`` may refuse the model before any memory is allocated for it.
    """
    path = Path(path)
    kind = kind_of(path)
    if kind == "spec":
        if spec is not None:
            raise SpeccError(f"--spec checks a checkpoint against a spec, but '{path}' is itself a spec", 2)
        return _from_spec(path, seed, before_build)
    if seed is not None:
        raise SpeccError(f"--seed seeds random weights for a spec; '{path}' is a trained "
                         f"{'run' if kind == 'run' else 'checkpoint'} with weights of its own", 2)
    if spec is None:
        return _from_checkpoint(path, kind, None, before_build)
    text, checked = _spec_text(Path(spec))
    try:
        return _from_checkpoint(path, kind, text, before_build)
    except SpeccError:
        if not checked:  # a spec with errors is refused before anything else, as ever
            _checked(Path(spec))
        raise


def _spec_text(path: Path) -> tuple[str, bool]:
    """The spec's text as specc train hashed it, read and decoded as check reads it, and whether
    it was checked. It is checked only where it does not decode (refused as check refuses it, E001)
    or comes from stdin (read once)."""
    from ..source import spec_text

    text = spec_text(path) if str(path) != "-" else None
    return (text, False) if text is not None else (_checked(path).source, True)


def _checked(path: Path) -> Analysis:
    """The spec's analysis; SpecCheckError, saying nothing was exported, where it has errors. Run
    when an export with --spec fails too, so that a spec with errors gets the refusal it always got."""
    from ..source import read_ok

    return read_ok(path, refusal="nothing was exported")


def _from_spec(path: Path, seed: int | None, before_build: Callable[[Analysis], None] | None) -> Source:
    from ..runtime.build import instantiate
    from ..source import read_ok

    analysis = read_ok(path, refusal="nothing was exported")  # SpecCheckError for a spec with errors
    if before_build is not None:
        before_build(analysis)
    with torch.random.fork_rng():  # a seeded export leaves the caller's random state alone
        if seed is not None:
            torch.manual_seed(seed)
        module = instantiate(analysis)
    weights = f"random, untrained ({f'seed {seed}' if seed is not None else 'unseeded'})"
    return Source(module.eval(), analysis, analysis.checked_model.name, "spec", weights,
                  task=read_from_spec(analysis))


def _from_checkpoint(path: Path, kind: str, spec_text: str | None,
                     before_build: Callable[[Analysis], None] | None) -> Source:
    from ..runtime.checkpoint import load_checkpoint_model, pick

    file, warning = pick(path)
    module, meta, analysis = load_checkpoint_model(file, spec_text, before_build)
    weights = f"checkpoint {file} (epoch {meta.epoch})"
    names = tuple(meta.class_names) if meta.class_names else None
    task = recorded(meta.config, analysis)
    return Source(module, analysis, meta.model_name, kind, weights, names, recorded_scaling(meta.config),
                  (warning,) if warning else (), task, threshold(meta.metrics) if task == "embed" else None)


def recorded_scaling(config: dict) -> str:
    """The input scaling a checkpoint's training config records, else specc train's default for images."""
    data = config.get("data")
    found = config.get("input_scaling") or (data.get("scaling") if isinstance(data, dict) else None)
    return str(found) if found else f"{DEFAULT_SCALING} (specc train's scaling for uint8 images; not recorded)"

