"""specs/'s graph examples against their hand-written torch twins.

Each example names its figures in a header line
`# torch: P params[, B buffers], M MACs, output HxWxC`. The checks: the
twin (tests/twins.py, tests/twins_nets.py; written from torchvision's
source and the course's notebooks, never from specc) gives exactly those
figures; the spec's text, read by the tests' own reader (graph_reader.py),
expands to the twin's figures layer by layer; `specc check` reports the twin's totals and output shape, and its
per-layer params and MACs in the order the twin runs them; and the module
`specc.build` makes has the twin's parameters, buffers and output shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from graph_reader import expand_spec
from graph_twin import twin as graph_twin
from torch import nn
from twins import (
    CONVS,
    TRANSPOSED,
    CourseResNet50,
    Figures,
    KerasConvolutionalBlock,
    KerasIdentityBlock,
    channels_first,
    channels_last,
    conv1d_lecture,
    conv3d_lecture,
    count_buffers,
    count_params,
    device_of,
    lecture_inception,
    measure,
    resnet18,
    resnet50,
)
from twins_nets import GoogLeNet, MobileNetV2, SqueezeNet, UNet

import specc

SPECS = Path(__file__).resolve().parent.parent / "specs"
EXAMPLES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "resnet50.cnn": (resnet50, (224, 224, 3)),
    "resnet18.cnn": (resnet18, (224, 224, 3)),
    "resnet50-course.cnn": (CourseResNet50, (64, 64, 3)),
    "googlenet.cnn": (GoogLeNet, (224, 224, 3)),
    "identity-block.cnn": (lambda: KerasIdentityBlock(3, 2, (4, 4, 3)), (4, 4, 3)),
    "convolutional-block.cnn": (lambda: KerasConvolutionalBlock(3, 2, (2, 4, 6), s=2), (4, 4, 3)),
    "inception-module.cnn": (lecture_inception, (28, 28, 192)),
    "unet.cnn": (UNet, (96, 128, 3)),
    "mobilenetv2.cnn": (MobileNetV2, (224, 224, 3)),
    "squeezenet.cnn": (SqueezeNet, (224, 224, 3)),
    "conv1d.cnn": (conv1d_lecture, (14, 1)),
    "conv3d.cnn": (conv3d_lecture, (14, 14, 14, 1)),
}
HEADER = re.compile(r"# torch: ([\d,]+) params(?:, ([\d,]+) buffers)?, ([\d,]+) MACs, output ([\dx]+)")


def header_figures(path: Path) -> Figures:
    found = HEADER.search(path.read_text(encoding="utf-8"))
    assert found, f"{path.name}: no `# torch: ... params, ... MACs, output ...` header line"
    params, buffers, macs, output = found.groups()
    number = lambda text: int(text.replace(",", ""))  # noqa: E731
    return Figures(number(params), number(buffers or "0"), number(macs), tuple(map(int, output.split("x"))))


def twin(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    build, shape = EXAMPLES[name]
    with torch.device("meta"):  # shapes and counts only: no arithmetic needed
        return build(), shape


def executed_layers(module: nn.Module, shape: tuple[int, ...]) -> list[tuple[int, int]]:
    """(params, MACs) of every layer that has parameters, in the order a forward pass runs them."""
    seen: list[tuple[int, int]] = []

    def hook(layer: nn.Module, inputs: tuple, out: torch.Tensor) -> None:
        weight = layer.weight[0].numel() if hasattr(layer, "weight") and layer.weight is not None else 0
        macs = out[0].numel() * weight if isinstance(layer, CONVS) else \
            inputs[0][0].numel() * weight if isinstance(layer, TRANSPOSED) else \
            layer.weight.numel() if isinstance(layer, nn.Linear) else 0
        seen.append((count_params(layer), macs))

    leaves = [m for m in module.modules() if not list(m.children()) and count_params(m)]
    handles = [m.register_forward_hook(hook) for m in leaves]
    with torch.no_grad():
        module.eval()(torch.zeros(channels_first(shape), device=device_of(module)))
    for handle in handles:
        handle.remove()
    return seen


@pytest.mark.parametrize("name", EXAMPLES)
def test_twin_gives_the_figures_of_the_spec_header(name: str) -> None:
    module, shape = twin(name)
    assert measure(module, shape) == header_figures(SPECS / name)


@pytest.mark.parametrize("name", [name for name in EXAMPLES if name not in ("conv1d.cnn", "conv3d.cnn")])
def test_spec_text_describes_its_twin(name: str) -> None:
    # Before specc reads graphs: the test suite's own reading of the spec (graph_reader.py, the generator's
    # expansion, graph_twin.py) gives the twin's figures, layer by layer in the twin's order.
    module, shape = twin(name)
    read = graph_twin(*expand_spec((SPECS / name).read_text(encoding="utf-8")), device="meta")
    assert read.total == measure(module, shape)
    assert [(f.params, f.macs) for f in read.layers if f.params] == executed_layers(module, shape)


@pytest.mark.parametrize("name", EXAMPLES)
def test_check_reports_the_twins_figures(name: str) -> None:
    module, shape = twin(name)
    analysis = specc.check(SPECS / name)
    assert analysis.ok, [d.message for d in analysis.errors]
    expected = measure(module, shape)
    assert (analysis.totals.params, analysis.totals.buffers, analysis.totals.macs) == \
        (expected.params, expected.buffers, expected.macs)
    assert tuple(analysis.output) == expected.output


@pytest.mark.parametrize("name", EXAMPLES)
def test_check_reports_the_twins_layers_in_order(name: str) -> None:
    # Every layer with parameters, in source order, against the twin's forward order: locates a wrong figure.
    module, shape = twin(name)
    analysis = specc.check(SPECS / name)
    assert analysis.ok, [d.message for d in analysis.errors]
    reported = [(r.params, r.macs) for r in analysis.layers if r.params]
    assert reported == executed_layers(module, shape)


@pytest.mark.parametrize("name", EXAMPLES)
def test_built_module_has_the_twins_parameters_and_output(name: str) -> None:
    module, shape = twin(name)
    built = specc.build(SPECS / name)
    assert count_params(built) == count_params(module)
    assert count_buffers(built) == count_buffers(module)
    with torch.no_grad():
        out = built.eval()(torch.zeros(channels_first(shape)))
    assert channels_last(out.shape) == measure(module, shape).output
