"""Initial weights from a file (`specc train --init FILE`, `train init=FILE`): spec-tasks §3.

The spec's module is built first; its parameterised layers (the groups of its
state dict: `layer1.0.conv1` holds `weight`) are matched with the layers of
FILE (specc.training.weightfiles reads it):

1. by name: a layer of FILE with the module's path and the same tensors of
   the same shapes (a spec labelled as its source was: `conv1`, `layer1.0.bn1`);
   a layer of that name with other shapes is left, and the mapping says why;
2. by order and shape, for the rest: the longest run of layers in both orders
   whose tensor names and shapes agree (a Keras 3 file keeps its order per
   kind of layer only, so its conv, dense and batchnorm layers are matched
   kind by kind).

Everything is printed before training: each layer loaded (by name or order),
each left as initialised and why, each layer of FILE unused. Fine-tuning
leaves the last layers (a new head) as initialised; anything else left, or a
layer of FILE skipped between loaded ones, is refused unless --partial.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..analysis import Analysis
from ..errors import SpeccError
from ..ir import Layer
from .weightfiles import Group, Weights, read_weights

# Layers a dense's input passes through unchanged on its way back to a flatten.
_PASS_THROUGH = ("dropout", "activation", "droppath")


@dataclass
class Target:
    """One parameterised layer of the built module: its path, tensors, spec layer and input."""

    path: str
    tensors: dict[str, torch.Tensor]
    layer: Layer | None
    flattened: tuple[int, ...] | None = None  # an fc reading a flattened map: the map's shape, channels last

    def signature(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        return tuple(sorted((k, tuple(v.shape)) for k, v in self.tensors.items() if k != "num_batches_tracked"))

    @property
    def bucket(self) -> str:
        """Its kind of layer, as a Keras file names kinds (for a file that keeps its order per kind)."""
        kind = self.layer.kind if self.layer is not None else ""
        if kind == "dwconv" or (kind == "conv" and int(getattr(self.layer, "groups", 1) or 1) > 1
                                and self.tensors["weight"].shape[1] == 1):
            return "dwconv"
        return kind


@dataclass
class Pair:
    target: Target
    source: Group | None
    how: str  # "name", "order and shape", or why it is left as initialised


@dataclass
class Mapping:
    """Which layer of FILE initialises which layer of the spec, and what is left or unused."""

    weights: Weights
    pairs: list[Pair]
    unused: list[Group]
    notes: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> list[Pair]:
        return [p for p in self.pairs if p.source is not None]

    @property
    def left(self) -> list[Pair]:
        return [p for p in self.pairs if p.source is None]

    @property
    def loaded_tensors(self) -> int:
        return sum(len(set(p.target.tensors) & set(p.source.tensors)) for p in self.loaded if p.source)

    def middle(self) -> list[Pair]:
        """The layers left as initialised before the last one loaded: not a new head."""
        loaded_at = [i for i, p in enumerate(self.pairs) if p.source is not None]
        last = loaded_at[-1] if loaded_at else -1
        return [p for p in self.pairs[:last] if p.source is None]

    def skipped(self) -> list[Group]:
        """Layers of FILE unused between loaded ones (a file in the network's order only)."""
        if not self.weights.ordered:
            return []
        used = {id(p.source) for p in self.loaded}
        at = [i for i, g in enumerate(self.weights.groups) if id(g) in used]
        if not at:
            return []
        return [g for g in self.weights.groups[at[0]:at[-1]] if id(g) not in used]

    def lines(self) -> list[str]:
        w = self.weights
        head = (f"initial weights: {w.path} ({w.format}, {w.tensor_count} tensors in {len(w.groups)} layers"
                f"{'; ' + '; '.join(w.notes) if w.notes else ''})")
        width = max([len(p.target.path) for p in self.pairs] + [10])
        source_width = max([len(p.source.name or '(top)') for p in self.loaded if p.source] + [9])
        rows = [head, f"  loaded {_count(self.loaded_tensors, 'tensor')} into {len(self.loaded)} of the spec's "
                      f"{_count(len(self.pairs), 'layer')} with weights; {len(self.left)} left as initialised; "
                      f"{_count(len(self.unused), 'layer')} of the file unused"]
        for p in self.pairs:
            if p.source is not None:
                rows.append(f"    {p.target.path:<{width}}  <- {p.source.name or '(top)':<{source_width}}  "
                            f"by {p.how:<15}  {_brief(p.target.tensors)}")
            else:
                rows.append(f"    {p.target.path:<{width}}  left as initialised: {p.how}")
        for g in self.unused:
            rows.append(f"    unused in the file: {g.name or '(top)'} ({_shapes(g.tensors)})")
        rows.extend(f"  note: {n}" for n in self.notes)
        return rows

    def record(self) -> dict[str, Any]:
        """What config.json keeps of it."""
        return {"file": str(self.weights.path), "format": self.weights.format,
                "sha256": _sha256(self.weights.path),
                "loaded": {p.target.path: {"from": p.source.name, "by": p.how} for p in self.loaded if p.source},
                "left": {p.target.path: p.how for p in self.left},
                "unused": [g.name for g in self.unused], "notes": list(self.notes)}


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'s' * (n != 1)}"


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def _shapes(tensors: dict[str, torch.Tensor]) -> str:
    return ", ".join(f"{k} {_dims(v.shape)}" for k, v in tensors.items() if k != "num_batches_tracked")


def _brief(tensors: dict[str, torch.Tensor]) -> str:
    """A layer's weight shape, and how many tensors besides: `64x3x7x7`, `64 +3` (a batchnorm's)."""
    main = tensors.get("weight", next(iter(tensors.values())))
    more = sum(1 for k in tensors if k not in ("weight", "num_batches_tracked"))
    return f"{_dims(main.shape)}{f' +{more}' if more else ''}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def targets(net: torch.nn.Module, analysis: Analysis) -> list[Target]:
    """The module's parameterised layers in its state dict's order (the spec's), each with its spec layer."""
    from ..codegen import module_paths

    layers = module_paths(analysis.checked_model.layers)
    reports = {r.layer.name: r for r in analysis.layers}
    grouped: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in net.state_dict().items():
        prefix, _, suffix = name.rpartition(".")
        grouped.setdefault(prefix, {})[suffix] = tensor
    found = []
    for path, tensors in grouped.items():
        layer = layers.get(path)
        found.append(Target(path, tensors, layer, _flattened(layer, reports) if layer is not None else None))
    return found


def _flattened(layer: Layer, reports: dict[str, Any]) -> tuple[int, ...] | None:
    """An fc's input map (channels last) when it reads one flattened: itself, or through a `flatten`."""
    if layer.kind != "fc":
        return None
    shape = tuple(reports[layer.name].input or ())
    if len(shape) >= 2:
        return shape
    name = layer.inputs[0] if layer.inputs else None
    while name in reports and reports[name].layer.kind in _PASS_THROUGH:
        name = reports[name].layer.inputs[0] if reports[name].layer.inputs else None
    if name in reports and reports[name].layer.kind == "flatten":
        shape = tuple(reports[name].input or ())
        return shape if len(shape) >= 2 else None
    return None


def _aligned(ts: list[Target], gs: list[Group]) -> list[tuple[Target, Group]]:
    """The longest pairing of targets and groups, both in order, of equal tensor names and shapes."""
    n, m = len(ts), len(gs)
    sig_t, sig_g = [t.signature() for t in ts], [g.signature() for g in gs]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if sig_t[i] == sig_g[j] else max(below[j], row[j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if sig_t[i] == sig_g[j] and best[i][j] == best[i + 1][j + 1] + 1:
            pairs.append((ts[i], gs[j]))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _difference(t: Target, g: Group) -> str:
    """How a layer of FILE differs from the spec's: `the file's fc: weight 10x512 (here 3x512), bias 10 (here 3)`."""
    here, there = dict(t.signature()), dict(g.signature())
    parts = [f"{k} {_dims(there[k])} (here {_dims(here[k])})" for k in t.tensors
             if k in here and k in there and here[k] != there[k]]
    parts += [f"{k} only here" for k in t.tensors if k in here and k not in there]
    parts += [f"{k} only in the file" for k in g.tensors if k in there and k not in here]
    return f"the file's {g.name or '(top)'}: {', '.join(parts)}"


def match(found: list[Target], weights: Weights) -> Mapping:
    """Pair the module's layers with FILE's: by name, then by order and shape."""
    by_name = {g.name: g for g in weights.groups}
    chosen: dict[str, tuple[Group, str]] = {}
    clashes: dict[str, Group] = {}
    used: set[int] = set()
    for t in found:
        g = by_name.get(t.path)
        if g is None or id(g) in used:
            continue
        used.add(id(g))
        if g.signature() == t.signature():
            chosen[t.path] = (g, "name")
        else:
            clashes[t.path] = g
    rest_t = [t for t in found if t.path not in chosen and t.path not in clashes]
    rest_g = [g for g in weights.groups if id(g) not in used]
    if weights.ordered:
        aligned = _aligned(rest_t, rest_g)
    else:  # a Keras 3 file: each kind of layer in its own order; safetensors: each set of tensor names
        aligned = []
        for bucket in dict.fromkeys(_bucket(g) for g in rest_g):
            aligned += _aligned([t for t in rest_t if _bucket(t, keras=isinstance(bucket, str)) == bucket],
                                [g for g in rest_g if _bucket(g) == bucket])
    for t, g in aligned:
        chosen[t.path] = (g, "order and shape")
        used.add(id(g))
    unused = [g for g in weights.groups if id(g) not in used]
    pairs = []
    for t in found:
        if t.path in chosen:
            pairs.append(Pair(t, *chosen[t.path]))
        elif t.path in clashes:
            pairs.append(Pair(t, None, _difference(t, clashes[t.path])))
        else:
            pairs.append(Pair(t, None, _why_left(t, unused, weights)))
    return Mapping(weights, pairs, unused)


def _bucket(item: Target | Group, keras: bool = False) -> str | tuple[str, ...]:
    """What a file without one order keeps in order: a Keras layer's kind, else the set of tensor names."""
    if isinstance(item, Group) and item.kind is not None:
        return item.kind
    if isinstance(item, Target) and keras:
        return item.bucket
    return tuple(k for k, _ in item.signature())


def _why_left(t: Target, unused: list[Group], weights: Weights) -> str:
    """The one unused layer of FILE that is nearly it (the same tensors in other shapes, or the same shapes
    and a tensor more or less), else: nothing of its shapes."""
    here = dict(t.signature())

    def near(g: Group) -> bool:
        there = dict(g.signature())
        shared = here.keys() & there.keys()
        return bool(shared) and (here.keys() == there.keys() or all(here[k] == there[k] for k in shared))

    found = [g for g in unused if (weights.ordered or g.kind in (None, t.bucket)) and near(g)]
    if len(found) == 1:
        return _difference(t, found[0])
    return f"nothing in the file has its shapes ({_shapes(t.tensors)})"


def _converted(p: Pair, suffix: str, tensor: torch.Tensor) -> torch.Tensor:
    """A tensor of FILE as the module takes it: a Keras dense kernel after a flatten moved from HWC to CHW."""
    source, flat = p.source, p.target.flattened
    if source is None or not source.keras_dense or suffix != "weight" or flat is None or math.prod(flat) == 0:
        return tensor
    out, rank = tensor.shape[0], len(flat)
    return tensor.reshape(out, *flat).permute(0, rank, *range(1, rank)).reshape(out, -1)


def apply(mapping: Mapping) -> None:
    """Copy every matched tensor into the module (its dtype, its device)."""
    with torch.no_grad():
        for p in mapping.loaded:
            assert p.source is not None  # loaded pairs have their source
            for suffix, tensor in p.source.tensors.items():
                if suffix in p.target.tensors:
                    value = _converted(p, suffix, tensor)
                    p.target.tensors[suffix].copy_(value.to(p.target.tensors[suffix].dtype))


def batchnorm_notes(mapping: Mapping) -> list[str]:
    """Keras batchnorm settings the spec does not share: epsilon changes outputs, momentum only training."""
    eps: dict[tuple[float, float, bool], list[str]] = {}
    momentum: dict[tuple[float, float], list[str]] = {}
    for p in mapping.loaded:
        g, layer = p.source, p.target.layer
        if g is None or g.kind != "batchnorm" or layer is None or g.eps is None or g.momentum is None:
            continue
        spec_eps, spec_momentum = float(getattr(layer, "eps", 1e-5)), float(getattr(layer, "momentum", 0.1))
        if not math.isclose(spec_eps, g.eps, rel_tol=1e-6):
            eps.setdefault((g.eps, spec_eps, g.recorded), []).append(p.target.path)
        if not math.isclose(spec_momentum, 1 - g.momentum, rel_tol=1e-6):
            momentum.setdefault((g.momentum, spec_momentum), []).append(p.target.path)
    notes = []
    for (theirs, ours, recorded), paths in eps.items():
        source = "" if recorded else " (Keras's default; the file does not record it)"
        notes.append(f"{_few(paths)}: Keras's batchnorm epsilon is {theirs:g}{source}, the spec's {ours:g}; "
                     f"outputs differ slightly from the source's until the spec says `batchnorm eps={theirs:g}`")
    for (theirs, ours), paths in momentum.items():
        notes.append(f"{_few(paths)}: Keras's batchnorm momentum {theirs:g} is torch's momentum={1 - theirs:.4g} "
                     f"(the weight of the new batch); the spec's is {ours:g}, which changes only how the running "
                     f"averages move while training (`batchnorm momentum={1 - theirs:.4g}` keeps Keras's)")
    return notes


def _few(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return f"{shown} and {len(paths) - 3} more" if len(paths) > 3 else shown


def load_initial(net: torch.nn.Module, analysis: Analysis, path: Path, partial: bool, origin: str) -> Mapping:
    """Read FILE, match it with the module, refuse what cannot be meant, load the rest. Writes nothing else."""
    who = "--init" if origin.startswith("--") else f"train init= ({origin})"
    weights = read_weights(path, who)
    if not weights.groups:
        raise SpeccError(f"{who} {path}: no layer of the file has weights specc can read ({weights.format}"
                         f"{'; ' + '; '.join(weights.notes) if weights.notes else ''})")
    mapping = match(targets(net, analysis), weights)
    mapping.notes.extend(batchnorm_notes(mapping))
    if not mapping.loaded:
        shown = "\n".join(mapping.lines())
        raise SpeccError(f"{who} {path}: nothing in the file fits the spec: no layer of the same name and "
                         f"shapes, none of the same shapes in order\n{shown}")
    middle, skipped = mapping.middle(), mapping.skipped()
    if (middle or skipped) and not partial:
        what = []
        if middle:
            what.append(f"{_count(len(middle), 'layer')} of the spec before its last loaded one left as initialised "
                        f"({_few([p.target.path for p in middle])})")
        if skipped:
            what.append(f"{_count(len(skipped), 'layer')} of the file between loaded ones unused "
                        f"({_few([g.name for g in skipped])})")
        shown = "\n".join(mapping.lines())
        raise SpeccError(f"{who} {path}: {'; '.join(what)}. Only the last layers (a new head) may be left "
                         f"unloaded; pass --partial to train with this mapping\n{shown}")
    if middle or skipped:
        mapping.notes.append("--partial: layers besides the last are left as initialised or unused (above)")
    apply(mapping)
    return mapping
