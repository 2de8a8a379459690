"""Weight files `specc train --init` reads, each as groups of tensors in torch's layout.

A group is one layer's tensors (``conv1``: ``weight``, ``bias``), named as the
file names it, in the file's order where the file has one. The formats:

- a PyTorch state dict (``.pt``, ``.pth``, ``.bin``), read with
  ``torch.load(weights_only=True)`` only: a file that needs code to unpickle
  is refused, never run. A torchvision or timm file is a flat dictionary of
  tensors; a training checkpoint nests it under "state_dict", "model", ...;
  DataParallel's "module." and torch.compile's "_orig_mod." are dropped;
- ``.safetensors`` (the safetensors package);
- a specc run folder (its best.pt) or checkpoint, read by
  specc.runtime.checkpoint (hashes checked);
- Keras weights, read with h5py (no TensorFlow): Keras 3's ``.weights.h5`` and
  ``.keras``, and Keras 2's ``.h5`` (``save_weights`` or a whole model).
  Kernels are moved to torch's layout (conv HWIO -> OIHW, depthwise
  HWC1 -> C1HW, dense (in, out) -> (out, in)); batchnorm's gamma, beta,
  moving_mean and moving_variance become weight, bias, running_mean and
  running_var, with its epsilon and momentum where the file records them.
  A dense kernel after a Keras Flatten of an HxWxC map is reordered from HWC
  to torch's CHW by specc.training.init, which knows the spec's shapes.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import stat
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import SpeccError, first_sentence
from ..files import kind, stat_of

KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
# Where training checkpoints keep their state dict (timm, Lightning, torchvision's references, ...).
NESTED = ("state_dict", "model_state_dict", "model", "state_dict_ema", "model_ema", "ema", "net", "module", "params")
DROPPED_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DistributedDataParallel, torch.compile
BATCHNORM = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
KERAS_DEFAULT_EPS, KERAS_DEFAULT_MOMENTUM = 1e-3, 0.99


@dataclass
class Group:
    """One layer's tensors in a file, in torch's layout and names (weight, bias, running_mean, ...)."""

    name: str
    tensors: dict[str, torch.Tensor]
    kind: str | None = None  # Keras files: conv, dwconv, fc, batchnorm (torch files do not say)
    keras_dense: bool = False  # a Keras dense kernel: in HWC order after a Flatten of a map
    eps: float | None = None  # a Keras batchnorm's epsilon and momentum (Keras's meaning: the old average's weight)
    momentum: float | None = None
    recorded: bool = False  # eps and momentum read from the file (else Keras's defaults)

    def signature(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """What order-and-shape matching compares: each tensor's name and shape (the batch counter aside)."""
        return tuple(sorted((k, tuple(v.shape)) for k, v in self.tensors.items() if k != "num_batches_tracked"))


@dataclass
class Weights:
    path: Path
    format: str  # "PyTorch state dict", "safetensors", "specc checkpoint", "Keras 3 weights", ...
    groups: list[Group]
    # the groups are in the network's order; else they are in order per kind of layer only (a Keras 3 file), or
    # per set of tensor names in their names' natural order (safetensors)
    ordered: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def tensor_count(self) -> int:
        return sum(len(g.tensors) for g in self.groups)


def read_weights(path: Path, flag: str = "--init") -> Weights:
    """The weights in ``path``; a missing, unreadable or unknown file is a SpeccError naming it."""
    found = stat_of(path, f"{flag} ")
    if found is None:
        raise SpeccError(f"{flag} {path}: no such file or run folder", 2)
    if stat.S_ISDIR(found.st_mode):
        return _specc(path, flag)
    if not stat.S_ISREG(found.st_mode):
        raise SpeccError(f"{flag} {path}: it is {kind(found)}, not a weights file or a run folder", 2)
    suffix = path.suffix.lower()
    try:
        if suffix == ".safetensors":
            return _safetensors(path, flag)
        if suffix == ".keras" or (suffix in (".h5", ".hdf5") and _is_hdf5(path)):
            return _keras(path, flag)
        return _torch(path, flag)
    except OSError as exc:
        raise SpeccError(f"{flag} {path}: cannot read it ({first_sentence(exc)})", 2) from exc


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == b"\x89HDF\r\n\x1a\n"


def _grouped(tensors: Iterator[tuple[str, torch.Tensor]]) -> list[Group]:
    """Flat `a.b.weight` names -> groups by all but the last part, in the order first seen."""
    groups: dict[str, Group] = {}
    for name, tensor in tensors:
        prefix, _, suffix = name.rpartition(".")
        groups.setdefault(prefix, Group(prefix, {})).tensors[suffix] = tensor
    return list(groups.values())


def _dropped_prefix(names: list[str]) -> str:
    for prefix in DROPPED_PREFIXES:
        if names and all(n.startswith(prefix) for n in names):
            return prefix
    return ""


def _state_dict(payload: Any, path: Path, flag: str) -> tuple[dict[str, torch.Tensor], str]:
    """The dictionary of tensors in a loaded payload, and where it was nested ("" at the top)."""
    where: list[str] = []
    while isinstance(payload, dict) and not any(isinstance(v, torch.Tensor) for v in payload.values()):
        inner = next((k for k in NESTED if isinstance(payload.get(k), dict)), None)
        if inner is None:
            break
        payload, where = payload[inner], [*where, inner]
    if not isinstance(payload, dict):
        raise SpeccError(f"{flag} {path}: the file holds a {type(payload).__name__}, not a state dict "
                         f"(a dictionary of tensors)")
    tensors = {str(k): v for k, v in payload.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        keys = ", ".join(repr(k) for k in list(payload)[:6]) or "nothing"
        raise SpeccError(f"{flag} {path}: no tensors in the file (its keys: {keys}); a state dict maps names to "
                         f"tensors, as torch.save(model.state_dict(), FILE) writes it")
    prefix = _dropped_prefix(list(tensors))
    return {k[len(prefix):]: v for k, v in tensors.items()}, ".".join(where)


def _torch(path: Path, flag: str) -> Weights:
    if zipfile.is_zipfile(path):
        from ..runtime.checkpoint import peek

        if peek(path) is not None:  # a specc checkpoint (its meta records an epoch): read with its hashes checked
            return _specc(path, flag)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "unsupported global" in text.lower() or re.search(r"GLOBAL [\w.]+", text):
            needed = re.search(r"GLOBAL ([\w.]+)", text)
            what = f" ({needed.group(1)})" if needed else ""
            raise SpeccError(
                f"{flag} {path}: the file holds Python objects besides tensors{what}, which would run code to "
                f"load; specc reads weights with torch.load(weights_only=True) and never unpickles objects. "
                f"Save the weights alone where the model was made: torch.save(model.state_dict(), 'weights.pt')"
            ) from exc
        raise SpeccError(f"{flag} {path}: not a PyTorch state dict, safetensors, Keras or specc file, or it is "
                         f"damaged (torch.load cannot read it)") from exc
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise SpeccError(f"{flag} {path}: not a PyTorch state dict, safetensors, Keras or specc file, or it is "
                         f"damaged ({first_sentence(exc)})") from exc
    except Exception as exc:  # noqa: BLE001 -- damaged bytes reach the unpickler as IndexError, KeyError, ...
        raise SpeccError(f"{flag} {path}: not a readable PyTorch file (damaged?)") from exc
    tensors, where = _state_dict(payload, path, flag)
    weights = Weights(path, "PyTorch state dict", _grouped(iter(tensors.items())))
    if where:
        weights.notes.append(f"the state dict under {where!r}")
    return weights


def _safetensors(path: Path, flag: str) -> Weights:
    try:
        from safetensors.torch import load_file
    except ImportError as exc:
        raise SpeccError(f"{flag} {path}: reading .safetensors needs the safetensors package "
                         f"(pip install 'specc-cnn[torch]')", 2) from exc
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 -- safetensors reports damage as its own SafetensorError
        raise SpeccError(f"{flag} {path}: not a readable safetensors file ({first_sentence(exc)})") from exc
    if not tensors:
        raise SpeccError(f"{flag} {path}: the file holds no tensors")
    prefix = _dropped_prefix(list(tensors))
    # safetensors keeps no order: the names' natural order (`layer2` before `layer10`), matched kind by kind
    names = sorted(tensors, key=natural_key)
    return Weights(path, "safetensors", _grouped((k[len(prefix):], tensors[k]) for k in names), ordered=False)


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """`layer2.10.conv1` sorts after `layer2.9.conv1`: numbers compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)


def _specc(path: Path, flag: str) -> Weights:
    from ..runtime.checkpoint import load_checkpoint, pick

    file, warning = pick(path)
    state, meta, _ = load_checkpoint(file)
    weights = Weights(file, "specc checkpoint", _grouped(iter(state.items())))
    weights.notes.append(f"model '{meta.model_name}', epoch {meta.epoch}")
    if warning:
        weights.notes.append(warning)
    return weights


# Keras -------------------------------------------------------------------------------------------------------


def _keras(path: Path, flag: str) -> Weights:
    import h5py

    config: dict[str, Any] = {}
    try:
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if "model.weights.h5" not in names:
                    raise SpeccError(f"{flag} {path}: a .keras file holds model.weights.h5; this one holds "
                                     f"{', '.join(names[:5]) or 'nothing'}")
                if "config.json" in names:
                    config = json.loads(archive.read("config.json"))
                data = io.BytesIO(archive.read("model.weights.h5"))
            with h5py.File(data, "r") as h5:
                return _keras3(h5, path, config)
        with h5py.File(path, "r") as h5:
            if "layer_names" in h5.attrs or ("model_weights" in h5 and "layer_names" in h5["model_weights"].attrs):
                return _keras2(h5, path)
            if "layers" in h5:
                return _keras3(h5, path, config)
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        raise SpeccError(f"{flag} {path}: not a readable Keras weights file ({first_sentence(exc)})") from exc
    raise SpeccError(f"{flag} {path}: an HDF5 file without Keras weights (no `layers` group, no `layer_names`); "
                     f"for a data set, use --data")


def _conv_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """Keras's (k..., in, out) -> torch's (out, in, k...)."""
    rank = kernel.dim() - 2
    return kernel.permute(rank + 1, rank, *range(rank)).contiguous()


def _depthwise_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """Keras's (kh, kw, in, multiplier) -> torch's (in * multiplier, 1, kh, kw): channel c*m + j, as both order it."""
    kh, kw, channels, mult = kernel.shape
    return kernel.permute(2, 3, 0, 1).reshape(channels * mult, 1, kh, kw).contiguous()


def _layer(name: str, named: dict[str, torch.Tensor], settings: dict[str, Any]) -> Group | None:
    """A Keras layer's variables by their Keras names -> a Group in torch's layout; None if not a kind we take."""
    if "depthwise_kernel" in named:
        tensors = {"weight": _depthwise_kernel(named["depthwise_kernel"])}
        kind = "dwconv"
    elif "kernel" in named and named["kernel"].dim() == 2:
        tensors, kind = {"weight": named["kernel"].t().contiguous()}, "fc"
    elif "kernel" in named and named["kernel"].dim() in (3, 4, 5):
        tensors, kind = {"weight": _conv_kernel(named["kernel"])}, "conv"
    elif "moving_mean" in named:
        group = Group(name, {BATCHNORM[k]: v for k, v in named.items() if k in BATCHNORM}, "batchnorm",
                      eps=float(settings.get("epsilon", KERAS_DEFAULT_EPS)),
                      momentum=float(settings.get("momentum", KERAS_DEFAULT_MOMENTUM)),
                      recorded="epsilon" in settings)
        return group
    else:
        return None
    if "bias" in named:
        tensors["bias"] = named["bias"]
    return Group(name, tensors, kind, keras_dense=kind == "fc")


def _tensor(dataset: Any) -> torch.Tensor:
    import numpy as np

    return torch.from_numpy(np.array(dataset[()], dtype=np.float32, copy=True)).reshape(dataset.shape)


def _layer_configs(config: Any) -> dict[str, dict[str, Any]]:
    """Every layer's settings in a Keras model config, by layer name (nested models included)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            inner = node.get("config")
            if isinstance(inner, dict) and "class_name" in node and isinstance(inner.get("name"), str):
                found.setdefault(inner["name"], {"class_name": node["class_name"], **inner})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


_ROLES = {  # Keras 3 stores a layer's variables by index; their names, by the layer's class (its group's name)
    "conv1d": ("kernel", "bias"), "conv2d": ("kernel", "bias"), "conv3d": ("kernel", "bias"),
    "depthwise_conv2d": ("depthwise_kernel", "bias"), "dense": ("kernel", "bias"),
}


def _keras3_roles(kind: str, count: int, settings: dict[str, Any]) -> tuple[str, ...] | None:
    if kind in _ROLES:
        return _ROLES[kind][:count]
    if kind == "batch_normalization":
        roles = (("gamma",) if settings.get("scale", True) else ()) + (("beta",) if settings.get("center", True)
                                                                        else ()) + ("moving_mean", "moving_variance")
        return roles if len(roles) == count else None
    return None


def _natural(name: str) -> tuple[str, int]:
    """`conv2d_12` -> ("conv2d", 12), `conv2d` -> ("conv2d", 0): Keras 3 numbers a class's layers in model order."""
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    assert match is not None  # the pattern matches every string
    return match.group(1), int(match.group(2) or 0)


def _keras3(h5: Any, path: Path, config: dict[str, Any]) -> Weights:
    """Keras 3: layers/<class>[_N]/vars/<i>, the class's layers numbered in model order (nested models inside)."""
    settings = _layer_configs(config)
    groups: list[Group] = []
    skipped: list[str] = []

    def walk(node: Any, trail: str) -> None:
        for key in sorted(node.keys(), key=_natural):
            layer = node[key]
            if "vars" in layer and len(layer["vars"]):
                kind, _ = _natural(key)
                variables = [layer["vars"][i] for i in sorted(layer["vars"].keys(), key=int)]
                name = str(layer["vars"].attrs.get("name", key))
                own = settings.get(name, {})
                roles = _keras3_roles(kind, len(variables), own)
                group = _layer(name, dict(zip(roles, map(_tensor, variables))), own) if roles else None
                if group is None:
                    skipped.append(f"{trail}{key}")
                else:
                    groups.append(group)
            if "layers" in layer:
                walk(layer["layers"], f"{trail}{key}/")

    walk(h5["layers"], "")
    return _noted(Weights(path, "Keras 3 weights", groups, ordered=False), skipped, bool(config))


def _keras2(h5: Any, path: Path) -> Weights:
    """Keras 2's HDF5: `layer_names` in model order, each layer's `weight_names` (`conv1/kernel:0`)."""
    root = h5["model_weights"] if "model_weights" in h5 else h5
    settings: dict[str, dict[str, Any]] = {}
    if "model_config" in h5.attrs:
        raw = h5.attrs["model_config"]
        settings = _layer_configs(json.loads(raw.decode() if isinstance(raw, bytes) else raw))
    groups: list[Group] = []
    skipped: list[str] = []
    for raw_name in root.attrs["layer_names"]:
        name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
        layer = root[name]
        weight_names = [w.decode() if isinstance(w, bytes) else str(w) for w in layer.attrs.get("weight_names", [])]
        if not weight_names:
            continue
        # a nested model (a MobileNetV2 base inside a Sequential) is one layer of many layers' weights:
        # `mobilenetv2/Conv1/kernel:0`, ... split by the path above each weight's own name
        parts: dict[str, dict[str, torch.Tensor]] = {}
        for w in weight_names:
            owner, _, own = w.rpartition("/")
            parts.setdefault(owner, {})[own.split(":")[0]] = _tensor(layer[w])
        for owner, named in parts.items():
            inner = owner.rsplit("/", 1)[-1] if len(parts) > 1 and owner else name
            group = _layer(inner, named, settings.get(inner, {}))
            if group is None:
                skipped.append(inner)
            else:
                groups.append(group)
    return _noted(Weights(path, "Keras 2 HDF5 weights", groups), skipped, bool(settings))


def _noted(weights: Weights, skipped: list[str], configured: bool) -> Weights:
    """A Keras file's notes: the layers not converted, and batchnorm's settings taken as Keras's defaults
    where the file records no model config."""
    if skipped:
        weights.notes.append(f"not converted (no torch twin here): {', '.join(skipped)}")
    if not configured:
        weights.notes.append("no model config in the file: batchnorm epsilon and momentum taken as Keras's "
                             f"defaults ({KERAS_DEFAULT_EPS:g}, {KERAS_DEFAULT_MOMENTUM:g})")
    return weights
