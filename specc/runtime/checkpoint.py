"""Checkpoints: the files `specc train` writes and `specc export` reads.

A checkpoint is one ``torch.save`` file holding only plain types and tensors,
so ``torch.load(weights_only=True)`` reads it and nothing is ever unpickled::

    {"format": "specc-checkpoint/1",
     "meta": CheckpointMeta as a dict (spec source and hash, config, epoch, ...),
     "model": state_dict (CPU, contiguous),
     "optimizer": optimizer.state_dict() or None,
     "extra": dict of plain values and tensors (RNG state, history, ...)}

The spec travels inside, so a checkpoint alone rebuilds its module
(:func:`load_model`); a sha256 of the weights, recorded in the meta, reveals a
file whose tensors were changed after it was written, and every part of the
file is checked against its zip CRC-32 before it is loaded, so a flipped byte
in the optimizer state or the metadata is found too. Writes go through
:mod:`specc.files` (atomic; a failed write names the file).
"""

from __future__ import annotations

import hashlib
import pickle
import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import torch

from ..errors import SpeccError, WriteError, first_sentence
from ..files import kind, stat_of, write_run_file
from ..version import __version__

if TYPE_CHECKING:
    from ..analysis import Analysis

CHECKPOINT_FORMAT = "specc-checkpoint/1"
SEVERAL_INPUTS = ("input_names", "input_shapes")  # meta written only for a spec with several inputs
BEST, LAST = "best.pt", "last.pt"


class CheckpointMeta(pydantic.BaseModel):
    """What a checkpoint says about itself; plain JSON types only."""

    model_config = pydantic.ConfigDict(extra="ignore")

    format: str = CHECKPOINT_FORMAT
    specc_version: str = __version__
    model_name: str
    spec_source: str
    spec_sha256: str
    spec_path: str | None = None
    class_names: list[str] | None = None
    input_shape: list[int] | None = None  # torch layout without batch: [C, H, W] or [F]; the first input's
    # A spec with several inputs: their labels in forward's order, and each one's shape as input_shape's.
    # Left out of the file for one input, whose checkpoints stay as they were.
    input_names: list[str] | None = None
    input_shapes: list[list[int]] | None = None
    num_outputs: int | None = None
    final_activation: str | None = None
    config: dict[str, Any] = {}
    epoch: int = 0  # epochs completed
    metrics: dict[str, float] = {}
    weights_sha256: str = ""  # filled in by save_checkpoint
    torch_version: str = torch.__version__


def spec_sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def weights_sha256(state: dict[str, torch.Tensor]) -> str:
    """A hash of every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}|{tensor.dtype}|{tuple(state[name].shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The module's state_dict as contiguous CPU tensors (loadable anywhere)."""
    inner = getattr(module, "module", module)  # DistributedDataParallel wraps the module
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in inner.state_dict().items()}


def save_checkpoint(path: str | Path, module: torch.nn.Module, meta: CheckpointMeta,
                    optimizer: torch.optim.Optimizer | None = None, extra: dict | None = None) -> None:
    """Write ``module``'s weights with ``meta`` atomically to ``path``, a run file: a symlink there is
    replaced, never written through (:func:`specc.files.write_run_file`)."""
    state = cpu_state(module)
    meta = meta.model_copy(update={"weights_sha256": weights_sha256(state)})
    unused = {name for name in SEVERAL_INPUTS if getattr(meta, name) is None}
    payload = {"format": CHECKPOINT_FORMAT, "meta": meta.model_dump(mode="json", exclude=unused), "model": state,
               "optimizer": optimizer.state_dict() if optimizer is not None else None, "extra": extra or {}}
    try:
        write_run_file(Path(path).parent, Path(path).name, lambda handle: torch.save(payload, handle))
    except WriteError as exc:
        raise WriteError(path, exc.reason, "checkpoint ") from exc
    except RuntimeError as exc:  # torch's zip writer reports a failed write (a full disk) as a RuntimeError
        raise WriteError(path, f"the write failed; is the disk full? ({first_sentence(exc)})", "checkpoint ") from exc


def _refuse_unreadable(path: Path) -> None:
    """A missing checkpoint, or one that is not a regular file (reading a FIFO would wait forever)."""
    found = stat_of(path, "checkpoint ")
    if found is None:
        raise SpeccError(f"checkpoint '{path}' not found", 2)
    if not stat.S_ISREG(found.st_mode):
        raise SpeccError(f"cannot read checkpoint '{path}': it is {kind(found)}, not a file or a run folder", 2)


def _read(path: Path) -> dict:
    _refuse_unreadable(path)
    _verify_crcs(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes about foreign pickle protocols; we refuse those anyway
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" in str(exc).lower():  # a pickle that asks for code, not damage
            raise SpeccError(f"'{path}' is not a specc checkpoint: it holds objects other than tensors and "
                             f"plain values, and is not loaded (weights_only)") from exc
        raise SpeccError(f"'{path}' is not a readable checkpoint (not a torch file, or damaged)") from exc
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise SpeccError(f"'{path}' is not a readable checkpoint (truncated or damaged?): "
                         f"{first_sentence(exc)}") from exc
    except Exception as exc:  # noqa: BLE001 -- damaged bytes reach the unpickler as IndexError, KeyError, ...
        raise SpeccError(f"'{path}' is not a readable checkpoint (not a torch file, or damaged)") from exc


def _verify_crcs(path: Path) -> None:
    """Every member of the zip archive against its CRC-32: a flipped byte anywhere is found.

    torch.load does not check them, and only the weights and spec carry a
    sha256, so damage to the optimizer state or the metadata would pass.
    """
    try:
        if not zipfile.is_zipfile(path):
            return  # not a torch zip file: torch.load says why
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise SpeccError(f"'{path}' is not a readable checkpoint (damaged): {first_sentence(exc)}") from exc
    if bad is not None:
        raise SpeccError(f"'{path}' is damaged: its part '{bad}' fails its CRC-32 check (changed or corrupted "
                         f"after it was written); refusing to use it")


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], CheckpointMeta, dict]:
    """The weights, meta and the rest (``optimizer``, ``extra``) of a checkpoint file.

    Refuses, with a SpeccError, a missing file, one that is not a specc
    checkpoint, and one whose weights no longer match their recorded hash.
    """
    path = Path(path)
    payload = _read(path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise SpeccError(f"'{path}' is not a specc checkpoint (format {found!r}, expected {CHECKPOINT_FORMAT!r})")
    state = payload.get("model")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SpeccError(f"'{path}' is damaged: its weights are not a dictionary of tensors")
    try:
        meta = CheckpointMeta.model_validate(payload.get("meta"))
    except pydantic.ValidationError as exc:
        raise SpeccError(f"'{path}' is damaged: its metadata does not validate ({exc.error_count()} problems)") from exc
    if weights_sha256(state) != meta.weights_sha256:
        raise SpeccError(f"'{path}' was modified after it was written: its weights do not match the sha256 "
                         f"recorded in the checkpoint; refusing to use them")
    if spec_sha256(meta.spec_source) != meta.spec_sha256:
        raise SpeccError(f"'{path}' was modified after it was written: its spec does not match its recorded sha256")
    rest = {k: v for k, v in payload.items() if k not in ("format", "meta", "model")}
    return state, meta, rest


def resolve_checkpoint(path: str | Path) -> Path:
    """A run directory -> its best checkpoint (see :func:`pick_from_run`); a file -> itself."""
    return pick(path)[0]


def pick(path: str | Path) -> tuple[Path, str | None]:
    """The checkpoint a path names, and a warning when a run's best.pt could not be trusted."""
    path = Path(path)
    if path.is_dir():
        return pick_from_run(path)
    _refuse_unreadable(path)
    return path, None


def pick_from_run(folder: Path) -> tuple[Path, str | None]:
    """best.pt, checked against the best epoch that last.pt records; else last.pt.

    Training copies last.pt to best.pt after an epoch that improved; a run killed
    during that copy keeps an older best.pt. last.pt then holds the best epoch
    itself and is used instead, with a warning.
    """
    best, last = folder / BEST, folder / LAST
    if not last.is_file():
        if best.is_file():
            return best, None
        raise SpeccError(f"run directory '{folder}' holds no checkpoint ({BEST} or {LAST})", 2)
    recorded = peek(last)
    if recorded is None:
        return (best if best.is_file() else last), None  # a damaged last.pt: the full load says why
    epoch, best_epoch = recorded
    found = peek(best) if best.is_file() else None
    if found is not None and found[0] == best_epoch:
        return best, None
    held = f"holds epoch {found[0]}" if found else ("is missing" if not best.is_file() else "is unreadable")
    if best_epoch == epoch:
        return last, (f"{best} {held}, but the run's best is epoch {best_epoch} (the copy to {BEST} was "
                      f"interrupted); using {last}, which holds epoch {best_epoch}")
    if found is None:
        return last, f"{best} {held}; using {last} (epoch {epoch}), not the run's best epoch {best_epoch}"
    return best, f"{best} {held}, but {last} records the run's best as epoch {best_epoch}"


def peek(path: Path) -> tuple[int, int] | None:
    """(epoch, the run's best epoch) that a checkpoint records, read without loading its tensors."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        epoch = int(payload["meta"]["epoch"])
        best = (payload.get("extra") or {}).get("best") or {}
        return epoch, int(best.get("epoch", epoch))
    except Exception:  # noqa: BLE001 -- any damage at all: the full load that follows reports it
        return None


def load_model(path: str | Path, spec_source: str | None = None) -> tuple[torch.nn.Module, CheckpointMeta]:
    """Rebuild a checkpoint's module from the spec inside it and load its weights.

    With ``spec_source``, refuses a checkpoint trained on a different spec.
    The module is returned in eval mode, on the CPU.
    """
    module, meta, _ = load_checkpoint_model(resolve_checkpoint(path), spec_source)
    return module, meta


def load_checkpoint_model(file: Path, spec_source: str | None = None,
                          before_build: Callable[[Analysis], None] | None = None
                          ) -> tuple[torch.nn.Module, CheckpointMeta, Analysis]:
    """:func:`load_model` for one checkpoint file, also returning the checked spec.

    ``before_build(analysis)`` may refuse the model (too large, say) before any
    memory is allocated for it.
    """
    from .build import instantiate
    from .embedded import checked_spec

    state, meta, _ = load_checkpoint(file)
    if spec_source is not None and spec_sha256(spec_source) != meta.spec_sha256:
        raise SpeccError(f"'{file}' was trained on a different spec (model '{meta.model_name}'); "
                         f"its spec sha256 {meta.spec_sha256[:12]}… differs from the given spec's "
                         f"{spec_sha256(spec_source)[:12]}…")
    analysis = checked_spec(meta.spec_source, file, meta.spec_path or f"{meta.model_name}.cnn")
    if before_build is not None:
        before_build(analysis)
    module = instantiate(analysis)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise SpeccError(f"'{file}': the weights do not fit the module built from its spec "
                         f"({first[1].strip() if len(first) > 1 else first[0]})") from exc
    return module.eval(), meta, analysis
