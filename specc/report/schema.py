"""Published JSON Schemas, generated from pydantic models.

``report`` describes `specc check --format json` (one object per file), so
tools that consume it can validate it; the training config and checkpoint
metadata schemas come from their own pydantic models in specc.training and
specc.runtime.checkpoint. Never imported by `specc check` itself: pydantic costs
start-up time, and the report is written from plain dicts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..kinds import STATEMENTS

Shape = list[int | None]
_KINDS = list(dict.fromkeys(form.kind for form in STATEMENTS.values()))  # conv, maxpool, ..., activation


class _Open(BaseModel):
    # More keys may be added to the report; consumers must tolerate them.
    model_config = ConfigDict(extra="allow")


class LayerEntry(_Open):
    name: str = Field(description="the layer's label, or its default name (conv1, pool1, fc1, ...)")
    kind: str = Field(description=", ".join(_KINDS[:-1]) + f" or {_KINDS[-1]}")
    line: int = Field(description="the spec line the layer is written on (1-based)")
    output: Shape | None = Field(description="[H, W, C] for a volume, [N] for a vector; null where unknown")
    activations: int | None = Field(description="size of the output (values per sample)")
    params: int | None = Field(description="trainable parameters")
    macs: int | None = Field(description="multiply-accumulates per sample, bias excluded")
    fan_in: int | None = Field(description="inputs each output unit sees (conv and fc)")
    density: float | None = Field(description="fan_in / input size, 3 significant digits")
    dense_params: int | None = Field(description="params of a dense layer between the same volumes")
    sharing: float | None = Field(description="dense_params / params, one decimal")
    reuse: int | None = Field(description="output positions each weight is applied at")
    receptive_field: int | None = Field(description="receptive field on the input (larger axis)")
    jump: int | float | None = Field(description="distance on the input between adjacent outputs (larger axis); "
                                                 "a fraction after upsampling")
    inputs: list[str] = Field(description="the layers it reads, by name; \"input\" is the network's input")
    block: str | None = Field(None, description="the block instance the layer belongs to, or null")
    rate: float | None = Field(None, description="droppath only: the rate it drops with (a bare droppath's "
                                                 "resolved from `train droppath=R`)")
    shares: str | None = Field(None, description="`share=` only: the layer whose parameters and buffers it uses "
                                                 "(counted there: its own params and buffers are 0)")


# The network's counts. Named as specc.analysis.Totals on purpose: pydantic names the schema's
# definition after the class, so another name would change `specc schema report`'s output (and a
# docstring here would become its description: hence a comment).
class Totals(_Open):
    params: int
    trainable_params: int
    buffers: int = Field(description="non-trainable buffers (batchnorm running statistics)")
    macs: int
    activations: int = Field(description="sum of the layers' output sizes")


class DiagnosticEntry(_Open):
    severity: Literal["error", "warning"]
    code: str = Field(pattern=r"^[EW]\d{3}$")
    line: int
    column: int
    end_line: int
    end_column: int = Field(description="exclusive, as in SARIF")
    message: str


class TrainingMemory(_Open):
    """`specc check --batch N`: bytes a training step holds at fp32.

    specc.infer.training_memory states the convention.
    """

    batch: int
    optimizer: Literal["sgd", "momentum", "rmsprop", "adam"]
    dtype: Literal["float32"]
    parameters_bytes: int = Field(description="weights and buffers")
    gradients_bytes: int = Field(description="one value per trainable parameter")
    optimizer_state_bytes: int = Field(description="sgd 0, momentum 1, rmsprop 1, adam 2 copies of the parameters")
    activations_bytes: int = Field(description="what autograd keeps for backward, for the whole mini-batch")
    total_bytes: int
    task: str | None = Field(None, description="the task whose loss is counted (spec-tasks §1): `train task=`, or "
                                               "what the output reads as")
    loss: str | None = Field(None, description="its loss: `train loss=`, or the task's default")
    convention: str


class Named(_Open):
    """One input or output of the network, by the name layers and the ONNX file give it."""

    name: str = Field(description="its label (`input` for an unlabelled input)")
    shape: Shape | None


class Report(_Open):
    """One spec's `specc check --format json` object."""

    file: str
    model: str | None
    ok: bool
    input: Shape | None = Field(description="the (first) input's shape")
    inputs: list[Named] | None = Field(None, description="every input, in order; present when the spec "
                                                         "labels its input or has several")
    output: Shape | None = Field(None, description="the (first) output's shape")
    outputs: list[Named] | None = Field(None, description="every output, in order; present when the spec "
                                                          "has an `output` line")
    layers: list[LayerEntry]
    totals: Totals
    diagnostics: list[DiagnosticEntry]
    training_memory: TrainingMemory | None = Field(None, description="only with `specc check --batch N`")


def report_schema() -> dict:
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "specc check report"
    return schema
