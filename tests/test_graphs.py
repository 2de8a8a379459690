"""Graphs written flat (`from=`, `add`, `concat`, `multiply`), checked against
hand-written torch twins: figures, the generated module's outputs, training
and the merge diagnostics. The twins are written here from the lecture, not
from specc's IR."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import specc

ROOT = Path(__file__).resolve().parent.parent
INCEPTION = """input 28x28x192
b1:     conv 64 1x1 relu
        conv 96 1x1 relu from=input
b3:     conv 128 3x3 p=same relu
        conv 16 1x1 relu from=input
b5:     conv 32 5x5 p=same relu
        maxpool 3x3 s=1 p=same from=input
bp:     conv 32 1x1 relu
        concat b1 b3 b5 bp
"""


class Inception(nn.Module):
    """The lecture's inception module, 28x28x192 -> 28x28x256."""

    def __init__(self) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(192, 64, 1)
        self.r3, self.b3 = nn.Conv2d(192, 96, 1), nn.Conv2d(96, 128, 3, padding=1)
        self.r5, self.b5 = nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2)
        self.pool, self.bp = nn.MaxPool2d(3, 1, 1), nn.Conv2d(192, 32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.relu
        return torch.cat([r(self.b1(x)), r(self.b3(r(self.r3(x)))), r(self.b5(r(self.r5(x)))),
                          r(self.bp(self.pool(x)))], dim=1)


class ResidualDigits(nn.Module):
    """specs/residual-digits.cnn by hand: conv-bn-relu, a two-conv residual branch, pool, fc."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn1 = nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.conv1, self.bn2 = nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.conv2, self.bn3 = nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.fc1, self.fc2 = nn.Linear(256, 64), nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.bn1(self.stem(x)))
        y = self.bn3(self.conv2(torch.relu(self.bn2(self.conv1(a)))))
        y = nn.functional.max_pool2d(torch.relu(y + a), 2)
        return torch.softmax(self.fc2(torch.relu(self.fc1(torch.flatten(y, 1)))), dim=1)


def macs(module: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of conv and linear layers, bias excluded, by forward hooks."""
    total = 0

    def hook(m: nn.Module, _: tuple, out: torch.Tensor) -> None:
        nonlocal total
        total += out[0].numel() * m.weight[0].numel()

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        module(x)
    for h in handles:
        h.remove()
    return total


def buffers(module: nn.Module) -> int:
    return sum(b.numel() for n, b in module.named_buffers() if "num_batches" not in n)


@pytest.mark.parametrize(("text", "twin", "shape"), [
    (INCEPTION, Inception, (28, 28, 192)),
    ((ROOT / "specs" / "residual-digits.cnn").read_text(), ResidualDigits, (8, 8, 1)),
], ids=["inception", "residual"])
def test_figures_and_outputs_equal_the_twin(text: str, twin: type[nn.Module], shape: tuple[int, ...]) -> None:
    analysis = specc.check(text)
    assert analysis.ok, analysis.diagnostics
    reference = twin().eval()
    h, w, c = shape
    x = torch.rand(2, c, h, w)
    assert analysis.totals.params == sum(p.numel() for p in reference.parameters())
    assert analysis.totals.buffers == buffers(reference)
    assert analysis.totals.macs == macs(reference, x)
    built = specc.build(analysis).eval()
    # Same layers in the same order: the twin's weights load into the generated module by position.
    state = dict(zip(built.state_dict(), reference.state_dict().values()))
    built.load_state_dict(state)
    with torch.no_grad():
        expected = reference(x)
        assert built(x).shape == expected.shape
        assert torch.allclose(built(x), expected, atol=1e-6)


def test_inception_branch_costs_as_the_lecture_says() -> None:
    """The 5x5 branch: 12,443,648 MACs with its 1x1 bottleneck (120,422,400 without)."""
    layers = {r.layer.name: r for r in specc.check(INCEPTION).layers}
    assert layers["conv2"].macs + layers["b5"].macs == 12_443_648
    direct = specc.check("input 28x28x192\nconv 32 5x5 p=same relu\n")
    assert direct.totals.macs == 120_422_400


def test_a_residual_network_trains_a_step_and_its_generated_code_has_named_branches() -> None:
    analysis = specc.check(ROOT / "specs" / "residual-digits.cnn")
    source = specc.compile(ROOT / "specs" / "residual-digits.cnn")
    assert "x = x + a" in source and "a = torch.relu" not in source  # `a` is a relu line: a module
    net = specc.build(analysis)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    before = nn.functional.cross_entropy(net.logits(x), y)
    before.backward()
    optimizer.step()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize(("text", "names"), [
    ("input 8x8x3\na: conv 4 3x3 p=same\nconv 8 3x3 p=same\nadd a\n", ["conv1 (line 3, conv, 8x8x8)",
                                                                       "a (line 2, conv, 8x8x4)", "channels"]),
    ("input 8x8x3\na: conv 4 3x3\nconv 4 3x3 p=same from=input\nconcat a\n", ["height and width",
                                                                            "conv1 (line 3, conv, 8x8x4)"]),
    ("input 8x8x3\ng: conv 5 1x1\nglobalavgpool\nmultiply input\n", ["input (the network's input, 8x8x3)",
                                                                 "gpool1 (line 3, globalavgpool, 1x1x5)"]),
])
def test_merge_errors_name_every_operand(text: str, names: list[str]) -> None:
    analysis = specc.check(text)
    (found,) = analysis.errors
    assert found.code == "E205" and found.line == 4
    for name in names:
        assert name in found.message


def test_squeeze_excitation_gate_multiplies_every_position() -> None:
    gate = ("input 8x8x16\nmap: conv 16 3x3 p=same relu\nglobalavgpool\nconv 4 1x1 relu\n"
            "conv 16 1x1 sigmoid\nmultiply map\n")
    analysis = specc.check(gate)
    assert analysis.ok and analysis.output == (8, 8, 16)
    net = specc.build(analysis)
    assert net(torch.rand(2, 16, 8, 8)).shape == (2, 16, 8, 8)


def test_a_residual_network_trains_on_digits_and_its_checkpoint_exports_with_parity(tmp_path) -> None:
    """Issue 11's end to end: `specc train` on a graph spec, then `specc export` of the run (the parity
    check inside export compares onnxruntime with the PyTorch module)."""
    from specc.cli import main
    from specc.runtime.checkpoint import load_checkpoint

    run = tmp_path / "run"
    spec = ROOT / "specs" / "residual-digits.cnn"
    assert main(["train", str(spec), "--data", "digits", "--epochs", "2", "--out", str(run), "-q"]) == 0
    meta = load_checkpoint(run / "best.pt")[1]
    assert meta.metrics["val_acc"] > 0.5  # two epochs of a residual net on the 8x8 digits: far above chance
    assert main(["export", str(run), "-o", str(tmp_path / "residual.onnx")]) == 0
    assert (tmp_path / "residual.onnx").stat().st_size > 80_000  # the weights are inside: one self-contained file
