"""The kinds of published networks (issue 23, spec-io.md §4): subtract, abs, hardsigmoid, reshape,
layernorm over=c, layerscale, droppath (with `train droppath=R`) and `activation WORD`.

torch is the oracle: a ConvNeXt block and a MobileNetV3 block written in specc are checked against
hand-written torch twins (torchvision's CNBlock and InvertedResidual, written out here: params equal,
outputs equal with the weights copied), reshape against Keras' channels-last order (numpy), droppath
against torchvision's stochastic_depth (written out), and the table's figures against the report.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from harness import assert_diagnostics
from torch import nn

import specc
from specc.report import jsonfmt

# spec-io.md §4's table: the statement, its parameters as a function of C, and its MACs (always 0).
TABLE = [("subtract stem", lambda c: 0), ("abs", lambda c: 0), ("hardsigmoid", lambda c: 0),
         ("reshape 4x4x2x4", lambda c: 0), ("layernorm over=c", lambda c: 2 * c), ("layerscale 0.1", lambda c: c),
         ("droppath 0.1", lambda c: 0), ("droppath", lambda c: 0), ("activation relu", lambda c: 0)]


@pytest.mark.parametrize("line, params", TABLE, ids=[line for line, _ in TABLE])
def test_the_contract_s_table_of_params_and_macs(line: str, params) -> None:
    analysis = specc.check(f"input 4x4x8\nstem: conv 8 1x1 relu\n{line}\n")
    assert analysis.ok, analysis.diagnostics
    report = analysis.layers[-1]
    assert (report.params, report.macs, report.buffers) == (params(8), 0, 0)
    model = specc.build(analysis)
    assert sum(p.numel() for p in model.parameters()) == analysis.totals.params


def test_subtract_is_the_first_minus_the_others_and_one_operand_reads_the_line_above() -> None:
    torch.manual_seed(0)
    one = specc.build("input 4x4x2\na: conv 2 1x1\nb: conv 2 1x1\nsubtract a\n").eval()
    two = specc.build("input 4x4x2\na: conv 2 1x1\nb: conv 2 1x1\nsubtract b a\n").eval()
    two.load_state_dict(one.state_dict())
    x = torch.randn(2, 2, 4, 4)
    with torch.no_grad():
        want = one.b(one.a(x)) - one.a(x)
        torch.testing.assert_close(one(x), want)
        torch.testing.assert_close(two(x), want)
    assert_diagnostics("input 4x4x2\na: conv 3 1x1\nconv 2 1x1\nsubtract a\n", ("E205", 4, 1))


def test_abs_and_hardsigmoid_are_torch_s_and_lint_knows_their_traits() -> None:
    model = specc.build("input 16\nabs\nhardsigmoid\n").eval()
    x = torch.linspace(-5, 5, 16).reshape(1, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x), nn.functional.relu6(x.abs() + 3) / 6)
    # W304: a relu after a function that is never negative changes nothing.
    for function in ("abs", "hardsigmoid"):
        codes = [d.code for d in specc.check(f"input 8x8x1\nconv 4 3 {function}\nrelu\nflatten\nfc 2\n").diagnostics]
        assert "W304" in codes, (function, codes)


def test_reshape_keeps_the_values_in_keras_channels_last_order() -> None:
    model = specc.build("input 3x3x10\nreshape 3x3x2x5\nreshape 9x10\nreshape 90\n").eval()
    taps: list[torch.Tensor] = []
    for name in ("reshape1", "reshape2"):
        getattr(model, name).register_forward_hook(lambda m, i, out: taps.append(out))
    x = torch.randn(2, 10, 3, 3)
    nhwc = x.permute(0, 2, 3, 1).numpy()  # the spec's (and Keras') order
    with torch.no_grad():
        out = model(x)
    np.testing.assert_array_equal(taps[0].movedim(1, -1).numpy(), nhwc.reshape(2, 3, 3, 2, 5))
    np.testing.assert_array_equal(taps[1].movedim(1, -1).numpy(), nhwc.reshape(2, 9, 10))
    np.testing.assert_array_equal(out.numpy(), nhwc.reshape(2, 90))
    assert "channels last" in specc.compile("input 19x19x425\nreshape 19x19x5x85\n")


def test_a_reshape_to_another_count_is_e210_with_both_counts() -> None:
    analysis = assert_diagnostics("input 19x19x425\nreshape 19x19x5x86\n", ("E210", 2, 9))
    message = analysis.diagnostics[0].message
    assert "155,230" in message and "153,425" in message
    assert_diagnostics("input 8\nreshape 2x2x2x1x1\n", ("E105", 2, 9))


def test_layernorm_over_c_normalises_each_position_s_channels() -> None:
    model = specc.build("input 3x3x4\nlayernorm over=c eps=1e-6\n").eval()
    x = torch.randn(2, 4, 3, 3)
    with torch.no_grad():
        nn.init.normal_(model.ln1.weight)
        nn.init.normal_(model.ln1.bias)
        want = nn.functional.layer_norm(x.permute(0, 2, 3, 1), (4,), model.ln1.weight, model.ln1.bias, 1e-6)
        torch.testing.assert_close(model(x), want.permute(0, 3, 1, 2))
    assert specc.check("input 3x3x4\nlayernorm over=c\n").totals.params == 8
    assert_diagnostics("input 3x3x1\nlayernorm over=c\n", ("E208", 2, 1))  # one value per position
    assert_diagnostics("input 3x3x4\nlayernorm over=h\n", ("E105", 2, 16))
    assert_diagnostics("input 3x3x4\ngroupnorm 2 over=c\n", ("E102", 2, 13))


def test_bare_droppath_rates_grow_linearly_to_the_train_rate() -> None:
    """ConvNeXt's rule (torchvision, timm): the i-th of n bare droppaths gets R·i/(n−1); written rates stay."""
    spec = ("input 4x4x2\nblock res() {\n  conv 2 1x1\n  droppath\n  add in\n}\nres repeat=4\n"
            "droppath 0.05\ntrain droppath=0.3\n")
    analysis = specc.check(spec)
    rates = [r.layer.rate for r in analysis.layers if r.layer.kind == "droppath"]
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.05])
    entries = json.loads(jsonfmt.render([analysis]))["layers"]
    assert [e["rate"] for e in entries if e["kind"] == "droppath"] == pytest.approx(rates)
    assert all("rate" not in e for e in entries if e["kind"] != "droppath")
    code = specc.compile(spec)
    for rate in ("0.0", "0.1", "0.2", "0.3", "0.05"):
        assert f"DropPath({rate})" in code, rate
    assert "torchvision" not in code.replace("torchvision.ops.stochastic_depth", "")
    alone = specc.check("input 4\ndroppath\ntrain droppath=0.3\n")
    assert alone.layers[0].layer.rate == 0.0  # torch.linspace(0, R, 1)
    assert_diagnostics("input 4\ndroppath\ntrain droppath=1\n", ("E106", 3, 16))


def test_droppath_is_torchvision_s_stochastic_depth_in_training_and_the_identity_in_eval() -> None:
    def stochastic_depth(x: torch.Tensor, p: float) -> torch.Tensor:  # torchvision.ops.stochastic_depth, "row"
        survival = 1.0 - p
        noise = torch.empty([x.shape[0]] + [1] * (x.ndim - 1), dtype=x.dtype, device=x.device)
        noise = noise.bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    model = specc.build("input 2x2x3\ndroppath 0.4\n")
    x = torch.randn(64, 3, 2, 2)
    torch.manual_seed(5)
    got = model.train()(x)
    torch.manual_seed(5)
    torch.testing.assert_close(got, stochastic_depth(x, 0.4))
    per_sample = got.flatten(1)
    dropped = (per_sample == 0).all(1)
    assert 0 < int(dropped.sum()) < 64  # whole samples, not single values
    torch.testing.assert_close(per_sample[~dropped], x.flatten(1)[~dropped] / 0.6)
    torch.testing.assert_close(model.eval()(x), x)


def test_activation_statement_and_a_block_parameter_bound_to_an_activation() -> None:
    spec = "input 4x4x2\nblock b(act) {\n  conv 4 3x3 p=same\n  activation act\n}\nb relu\nb act=hardswish\n"
    analysis = specc.check(spec)
    assert analysis.ok, analysis.diagnostics
    assert [r.layer.activation_function for r in analysis.layers if r.layer.kind == "activation"] == [
        "relu", "hardswish"]
    assert "nn.Hardswish()" in specc.compile(spec)
    broken = assert_diagnostics(spec.replace("b relu", "b relx"), ("E105", 4, 14))
    (problem,) = broken.diagnostics
    assert "`relx`" in problem.message and "relu" in (problem.help or "")
    assert problem.notes and problem.notes[0].span.line == 6  # the call that passed it
    assert_diagnostics("input 4\nactivation softmx\n", ("E105", 2, 12))


# --- published blocks against hand-written torch twins -------------------------------------------------------

CONVNEXT = """input 8x8x16
block convnext(dim) {
  dwconv 7x7 p=same
  layernorm over=c eps=1e-6
  conv 4*dim 1x1 gelu
  conv dim 1x1
  layerscale 1e-6
  droppath
  add in
}
convnext 16 repeat=2
train droppath=0.1
"""


class CNBlock(nn.Module):
    """torchvision.models.convnext.CNBlock, written out (its Linear layers on channels-last values)."""

    def __init__(self, dim: int, layer_scale: float, rate: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1, self.pw2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.rate = rate

    def ordered(self) -> list[nn.Parameter]:
        return [self.dwconv.weight, self.dwconv.bias, self.norm.weight, self.norm.bias, self.pw1.weight,
                self.pw1.bias, self.pw2.weight, self.pw2.bias, self.layer_scale]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pw2(nn.functional.gelu(self.pw1(self.norm(y)))).permute(0, 3, 1, 2)
        y = self.layer_scale * y
        if self.training and self.rate > 0:
            keep = 1 - self.rate
            y = y * torch.empty([y.shape[0], 1, 1, 1]).bernoulli_(keep).div_(keep)
        return y + x


def _copy(ours: list[torch.Tensor], theirs: list[torch.Tensor]) -> None:
    assert [p.numel() for p in ours] == [p.numel() for p in theirs]
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            a.copy_(torch.randn(a.shape, generator=generator) * 0.5)
            b.copy_(a.reshape(b.shape))


def test_a_convnext_block_is_torchvision_s() -> None:
    analysis = specc.check(CONVNEXT)
    assert analysis.ok, analysis.diagnostics
    model = specc.build(analysis)
    twin = nn.Sequential(CNBlock(16, 1e-6, 0.0), CNBlock(16, 1e-6, 0.1))
    assert analysis.totals.params == sum(p.numel() for p in twin.parameters())
    _copy(list(model.parameters()), [p for block in twin for p in block.ordered()])
    x = torch.randn(3, 16, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), twin.eval()(x), rtol=1e-4, atol=1e-5)
        torch.manual_seed(2)
        trained = model.train()(x)
        torch.manual_seed(2)
        torch.testing.assert_close(trained, twin.train()(x), rtol=1e-4, atol=1e-5)
    assert [r.layer.rate for r in analysis.layers if r.layer.kind == "droppath"] == [0.0, 0.1]


MOBILENETV3 = """input 8x8x16
block bneck(e, c, act) {
  conv e 1x1 bias=false
  batchnorm
  activation act
  dwconv 3x3 p=same bias=false
  batchnorm
  x: activation act
  globalavgpool
  conv e/4 1x1 relu
  conv e 1x1 hardsigmoid
  multiply x
  conv c 1x1 bias=false
  batchnorm
  add in
}
bneck 64 16 hardswish
bneck 48 16 relu
"""


class InvertedResidual(nn.Module):
    """torchvision.models.mobilenetv3.InvertedResidual with squeeze-excitation, written out."""

    def __init__(self, c: int, e: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(c, e, 1, bias=False), nn.BatchNorm2d(e), act())
        self.depthwise = nn.Sequential(nn.Conv2d(e, e, 3, padding=1, groups=e, bias=False), nn.BatchNorm2d(e), act())
        self.fc1, self.fc2 = nn.Conv2d(e, e // 4, 1), nn.Conv2d(e // 4, e, 1)  # SqueezeExcitation
        self.project = nn.Sequential(nn.Conv2d(e, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(self.expand(x))
        scale = nn.functional.adaptive_avg_pool2d(y, 1)
        scale = nn.functional.hardsigmoid(self.fc2(nn.functional.relu(self.fc1(scale))))
        return self.project(y * scale) + x


def test_a_mobilenetv3_block_is_torchvision_s() -> None:
    analysis = specc.check(MOBILENETV3)
    assert analysis.ok, analysis.diagnostics
    model = specc.build(analysis)
    twin = nn.Sequential(InvertedResidual(16, 64, nn.Hardswish), InvertedResidual(16, 48, nn.ReLU))
    assert analysis.totals.params == sum(p.numel() for p in twin.parameters())
    assert analysis.totals.buffers == sum(b.numel() for n, b in twin.named_buffers() if "num_batches" not in n)
    _copy(list(model.parameters()), list(twin.parameters()))
    x = torch.randn(3, 16, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), twin.eval()(x), rtol=1e-4, atol=1e-5)


def test_what_backward_keeps_for_the_newer_kinds_matches_autograd() -> None:
    from test_memory import assert_activations_match

    assert_activations_match("input 6x6x4\na: conv 8 3x3 p=same abs\nhardsigmoid\nlayernorm over=c\n"
                             "layerscale 0.5\ndroppath 0.3\nb: add a\nsubtract a\nreshape 6x6x2x4\nconv 8 1\n"
                             "reshape 576\nfc 3 hardsigmoid\n")
    assert_activations_match(CONVNEXT)
    assert_activations_match(MOBILENETV3)
