"""What a check finds, as data: ``Analysis`` (one spec), ``LayerReport`` (one
layer) and ``Totals`` (the network's counts).

Every stage after infer reads these records, and none of them needs the
passes that made them: lint, the reports, codegen, the LSP and the library
import them from here, at the bottom of the stages, beside the IR.

The one way back up the stages: an Analysis shows itself in a notebook or a
REPL (``str``, ``repr``, ``_repr_html_``, ``_repr_markdown_``) through
:mod:`specc.report.notebook`, and writes its JSON object (``to_dict``) through
:mod:`specc.report.jsonfmt`. That is the layering's one declared seam
(docs/architecture.md): ``_report`` imports the module by name when a view is
asked for, so neither the import graph nor the contract in pyproject.toml
(``[tool.importlinter]``) has an edge from here to the reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import cast

from .diagnostics import Diagnostic
from .ir import Instance, Layer, Model, Pads, Pair, Shape
from .record import NamedTuple, Record

FINAL_ACTIVATIONS = ("softmax", "sigmoid")  # what turns a classifier's scores into probabilities


class LayerReport(Record, eq=True):
    """What infer found for one layer. A record (specc.record), immutable by
    contract: no pass changes a report (codegen builds a new one with _replace).
    density and sharing are worked out when read: two floats a layer less to keep."""

    layer: Layer
    input: Shape | None
    output: Shape | None
    params: int | None
    buffers: int
    macs: int | None
    activations: int | None
    in_channels: int | None = None
    pads: Pads | None = None  # top, bottom, left, right, resolved
    fan_in: int | None = None
    dense_params: int | None = None  # None where the figures are unknown (infer._figures)
    reuse: int | None = None
    receptive_field: Pair | None = None  # (height, width) on the input
    jump: tuple[int | float, ...] | None = None

    @property
    def density(self) -> float | None:
        """fan_in / the size of the input volume."""
        if self.dense_params is None:
            return None
        # specc.infer works dense_params out only with fan_in and every input dimension known
        return cast(int, self.fan_in) / math.prod(cast("tuple[int, ...]", self.input))

    @property
    def sharing(self) -> float | None:
        """dense_params / params: what parameter sharing saves."""
        # specc.infer works dense_params out only where the layer has parameters
        return None if self.dense_params is None else self.dense_params / cast(int, self.params)


class Totals(NamedTuple):
    """The whole network's counts."""

    params: int
    trainable_params: int
    buffers: int
    macs: int
    activations: int

    @property
    def size_bytes(self) -> int:
        """Weights and buffers at fp32."""
        return 4 * (self.params + self.buffers)


class Analysis(Record, eq=True):
    """Everything `specc check` knows about one spec.

    It prints as the `specc check` table and renders as HTML in Jupyter
    (the views live in :mod:`specc.report.notebook`); ``to_dict()`` is the JSON report.
    """

    path: str
    source: str
    model: Model | None
    layers: tuple[LayerReport, ...] = ()
    totals: Totals = Totals(0, 0, 0, 0, 0)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        """This spec's object of the JSON report (`specc check --format json`)."""
        return _report("jsonfmt").analysis_json(self)

    def __str__(self) -> str:
        return _report("notebook").text(self)

    def __repr__(self) -> str:  # a record's own repr dumps every layer: thousands of characters
        return _report("notebook").summary(self)

    def _repr_html_(self) -> str:
        return _report("notebook").html(self)

    def _repr_markdown_(self) -> str:
        return _report("notebook").markdown(self)

    @property
    def checked_model(self) -> Model:
        """The model, for the stages after check (codegen, the builder, export, training, the memory
        estimate), which read only an analysis without errors: that has one. ValueError without one."""
        if self.model is None:
            raise ValueError(f"{self.path}: no model: nothing is built from a spec with errors")
        return self.model

    @property
    def output(self) -> Shape | None:
        """The network's (first) output's shape: the last line's, or the first an `output` line names."""
        if self.model is not None and self.model.declared_outputs:
            return self.shape_of(self.model.declared_outputs[0])
        return self.layers[-1].output if self.layers else (self.model.input if self.model else None)

    def shape_of(self, name: str) -> Shape | None:
        """The output shape of the layer or input ``name``; None where unknown."""
        found = next((r.output for r in reversed(self.layers) if r.layer.name == name), None)
        if found is None and self.model is not None:
            found = next((i.shape for i in self.model.inputs if i.name == name), None)
        return found

    @property
    def final_activation(self) -> str | None:
        """``softmax`` or ``sigmoid`` when the network's output ends in one, else None. Only a network
        whose one output is its last line has one: with several outputs (or one `output` names above the
        last line) each is returned as its layer gives it, and ``logits()`` is ``forward``."""
        function = self.layers[-1].layer.activation_function if self.layers else None
        if self.model is not None and self.layers and self.model.outputs != (self.layers[-1].layer.name,):
            return None
        return function if function in FINAL_ACTIVATIONS else None


def default_name(path: str) -> str:
    """The model name of a spec without a `model` line: its file's stem, else `model`."""
    return Path(path).stem if path not in ("<string>", "<stdin>", "-", "") else "model"


def _report(module: str) -> ModuleType:
    """``specc.report.<module>``, imported on use: the declared seam (see the module's docstring)."""
    return import_module(f"{__package__}.report.{module}")


def reaching(reports: Iterable[LayerReport], targets: Iterable[str]) -> set[str]:
    """The layers whose output reaches one of ``targets`` through the inputs, the targets included.

    One pass from the last layer back: the reports are in source order, where a layer's inputs
    always come before it.
    """
    live = set(targets)
    for r in reversed(tuple(reports)):
        if r.layer.name in live:
            live.update(r.layer.inputs)
    return live


def computed_layers(reports: tuple[LayerReport, ...], instances: Iterable[Instance],
                    outputs: Sequence[str] = ()) -> set[str]:
    """The layers the generated ``forward`` computes: those the network's outputs (``outputs``; the
    last layer when empty) depend on, and in every block instance it calls, those the instance's own
    output depends on (a block's class returns its output whichever of its values the caller reads)."""
    if not reports:
        return set()
    parent = {i.path: i.parent for i in instances}
    output = {i.path: i.output for i in instances}
    targets = set(outputs) or {reports[-1].layer.name}
    while True:
        live = reaching(reports, targets)
        called: set[str] = set()
        for r in reports:
            path = r.layer.block if r.layer.name in live else None
            while path is not None and path not in called:
                called.add(path)
                path = parent[path]
        more = targets | {output[path] for path in called}
        if more == targets:
            return live
        targets = more


def idle_layers(reports: tuple[LayerReport, ...], outputs: Sequence[str] = ()) -> list[str]:
    """The layers the network's outputs (``outputs``; the last layer when empty) do not depend on:
    built, never computed by ``forward``."""
    if not reports:
        return []
    live = reaching(reports, outputs or [reports[-1].layer.name])
    return [r.layer.name for r in reports if r.layer.name not in live]
