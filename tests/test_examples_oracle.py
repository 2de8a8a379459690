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
from twins_nets import ConvNeXt, GoogLeNet, MobileNetV2, MobileNetV3, SqueezeNet, UNet

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
    "mobilenetv3.cnn": (MobileNetV3, (224, 224, 3)),
    "convnext-tiny.cnn": (ConvNeXt, (224, 224, 3)),
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
            inputs[0][0].numel() // layer.in_features * layer.weight.numel() if isinstance(layer, nn.Linear) \
            else 0  # a Linear on channels-last positions (ConvNeXt's) runs once per position
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


# The tests' own reader knows the graph language of spec-graphs.md, not issue 23's (if=, `//`, `+`, `activation
# WORD`, layerscale, droppath): the published networks written with it are checked by specc against their twins.
READER_KNOWS = [name for name in EXAMPLES if name not in ("conv1d.cnn", "conv3d.cnn", "mobilenetv3.cnn",
                                                          "convnext-tiny.cnn")]


@pytest.mark.parametrize("name", READER_KNOWS)
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


# --- the published networks of issue 23 at a second size, and as functions ------------------------------------

PUBLISHED = {"mobilenetv3.cnn": MobileNetV3, "convnext-tiny.cnn": ConvNeXt}


def at_size(name: str, side: int) -> str:
    """The example's text with its 224x224x3 input replaced: both are whole networks of any size."""
    text = (SPECS / name).read_text(encoding="utf-8")
    assert "input 224x224x3\n" in text
    return text.replace("input 224x224x3\n", f"input {side}x{side}x3\n")


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_network_at_another_size_reports_its_twins_figures(name: str) -> None:
    with torch.device("meta"):
        module = PUBLISHED[name]()
    analysis = specc.check(at_size(name, 160))  # 160: 5x5 before the global pool
    assert analysis.ok, [d.message for d in analysis.errors]
    expected = measure(module, (160, 160, 3))
    assert (analysis.totals.params, analysis.totals.buffers, analysis.totals.macs, tuple(analysis.output)) == \
        (expected.params, expected.buffers, expected.macs, expected.output)
    assert [(r.params, r.macs) for r in analysis.layers if r.params] == executed_layers(module, (160, 160, 3))
    assert expected.macs < measure(module, (224, 224, 3)).macs  # the size really changed what is counted


def copy_state(twin: nn.Module, built: nn.Module) -> None:
    """The twin's weights and running statistics, drawn at random, into the built module, in order.

    Both hold their tensors in the order the network runs them; a Linear's (N, C) weight is a 1x1 conv's
    (N, C, 1, 1)."""
    theirs = [(k, v) for k, v in twin.state_dict().items() if not k.endswith("num_batches_tracked")]
    ours = [v for k, v in built.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert [v.numel() for _, v in theirs] == [v.numel() for v in ours]
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for (key, value), mine in zip(theirs, ours):
            drawn = torch.rand(value.shape, generator=generator, dtype=value.dtype)
            if key.endswith("running_var"):
                drawn = drawn + 0.5
            elif key.endswith("running_mean") or key.endswith("bias"):
                drawn = drawn - 0.5
            elif value.dim() > 1:  # a weight: scaled by its fan-in, so that deep stacks stay in range
                drawn = (drawn - 0.5) * (12 / value[0].numel()) ** 0.5
            value.copy_(drawn)
            mine.copy_(drawn.reshape(mine.shape))


@pytest.mark.parametrize(("name", "side"), [("mobilenetv3.cnn", 224), ("mobilenetv3.cnn", 160),
                                          ("convnext-tiny.cnn", 224), ("convnext-tiny.cnn", 64)])  # 64: 2x2 last
def test_published_network_computes_its_twins_function(name: str, side: int) -> None:
    # fp32 (torch's double depthwise convolution is 5x slower): the same operations in the same order agree to
    # 1e-6 (measured: 5e-7 on ConvNeXt's logits of magnitude 2; MobileNetV3's to the bit)
    torch.manual_seed(0)
    twin_module = PUBLISHED[name]().eval()
    built = specc.build(at_size(name, side)).eval()
    copy_state(twin_module, built)
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = twin_module(x), built.logits(x)
    assert expected.abs().max() > 0.1 and expected.std() > 0.01  # a signal, not a constant anything would match
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def test_convnext_droppath_rates_are_torchvisions() -> None:
    # torchvision: block i of 18 drops its branch with 0.1·i/17; the spec says `train droppath=0.1` once.
    rates = [r.layer.rate for r in specc.check(SPECS / "convnext-tiny.cnn").layers if r.layer.kind == "droppath"]
    with torch.device("meta"):
        twin_rates = [m.rate for m in ConvNeXt().modules() if hasattr(m, "rate")]
    assert len(rates) == 18
    assert rates == pytest.approx(twin_rates, rel=1e-11)  # specc keeps 12 digits: 0.1, not 0.09999999999999999
