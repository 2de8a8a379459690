"""The numbers in the rules' messages, with PyTorch as the oracle.

Which input rows a conv or pooling layer never reads (W201, W202) and which
kernel taps never meet an input value (W204) are computed by specc without
torch; here autograd says which inputs and weights get no gradient.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import specc
from specc.kinds.geometry import output_size
from specc.lint.rules.kernel_larger_than_map import live_taps
from specc.lint.view import coverage

torch = pytest.importorskip("torch")
F = torch.nn.functional

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rules"

# One axis at a time: size, kernel, stride, dilation, padding before and after.
GRID = [case for case in itertools.product(range(1, 10), range(1, 5), range(1, 5), range(1, 4), range(3), range(3))
        if output_size(case[0], case[1], case[2], case[4] + case[5], case[3]) >= 1]


def torch_axis(size: int, kernel: int, stride: int, dilation: int, before: int, after: int):
    """Output size and the grads of the padded input rows and of the weight taps, for a
    (size x 1) conv with positive weights and inputs: nonzero exactly where something is read."""
    x = torch.rand(1, 1, size, 1, dtype=torch.float64) + 0.5
    padded = F.pad(x, (0, 0, before, after)).requires_grad_()
    w = torch.ones(1, 1, kernel, 1, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(padded, w, stride=(stride, 1), dilation=(dilation, 1))
    y.sum().backward()
    return y.shape[2], padded.grad[0, 0, :, 0], w.grad[0, 0, :, 0]


@pytest.fixture
def one_thread():
    """Thousands of tiny ops: threads only contend (5 ms a case instead of 0.1 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_coverage_and_live_taps_match_autograd(one_thread) -> None:
    torch.manual_seed(0)
    for size, kernel, stride, dilation, before, after in GRID:
        out, padded_grad, w_grad = torch_axis(size, kernel, stride, dilation, before, after)
        assert out == output_size(size, kernel, stride, before + after, dilation)
        read = (padded_grad != 0).tolist()
        last = max(i for i, r in enumerate(read) if r)  # the last padded row any window reads
        expected = (read[before:before + size].count(False), max(before + size - 1 - last, 0))
        case = (size, kernel, stride, dilation, before, after)
        assert coverage(size, kernel, stride, dilation, before, out) == expected, case
        assert live_taps(size, kernel, stride, dilation, before, out) == int((w_grad != 0).sum()), case


def warning_of(name: str, code: str) -> specc.Analysis:
    path = FIXTURES / name
    return specc.check(path.read_text(), str(path), select=[code])


def test_w201_counts_unread_rows_like_autograd() -> None:
    # pool1 of W201.cnn: maxpool 2x2 stride 3 on 64x64; autograd on the real layer.
    x = torch.rand(1, 1, 64, 64, requires_grad=True)
    F.max_pool2d(x, 2, stride=3).sum().backward()
    never = int((x.grad[0, 0].abs().sum(dim=1) == 0).sum())
    (first, *_) = warning_of("W201.cnn", "W201").warnings
    assert f"never reads {never} of the 64 rows and {never} of the 64 columns" in first.message


def test_w204_counts_dead_weights_like_autograd() -> None:
    # conv2 of W204.cnn: conv 32 3x3 padding=same on a 1x1x16 map.
    conv = torch.nn.Conv2d(16, 32, 3, padding=1)
    conv(torch.rand(1, 16, 1, 1) + 0.5).sum().backward()
    dead = int((conv.weight.grad == 0).sum())
    (found,) = warning_of("W204.cnn", "W204").warnings
    assert dead == 4096 and f"({dead:,} of its weights never matter)" in found.message


def test_w401_bias_gets_no_gradient_through_batchnorm() -> None:
    torch.manual_seed(0)
    conv, bn = torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16)
    bn(conv(torch.randn(4, 3, 8, 8))).pow(3).sum().backward()
    assert conv.bias.grad.abs().max() < 1e-4 * conv.weight.grad.abs().max()
    first = warning_of("W401.cnn", "W401").warnings[0]
    assert f"the {conv.bias.numel()} biases of conv1" in first.message


def test_w101_quotes_the_fc_layer_parameters() -> None:
    fc = torch.nn.Linear(32 * 32 * 8, 10)
    (found,) = warning_of("W101_flatten.cnn", "W101").warnings
    assert f"{sum(p.numel() for p in fc.parameters()):,} parameters (320.0 KiB at fp32)" in found.message
    assert "32x32x8 map" in found.message


def test_w202_says_how_many_rows_are_dropped() -> None:
    x = torch.rand(1, 1, 13, 13, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert int((x.grad[0, 0].sum(dim=1) == 0).sum()) == 1
    first = warning_of("W202.cnn", "W202").warnings[0]
    assert "pool2 on a 13x13 map" in first.message and "the last row and the last column" in first.message
    assert "output 6x6" in first.message and "padding=same` (output 7x7)" in first.help


def test_w202_counts_several_rows() -> None:
    text = "input 10x7x1\nconv 4 4x1 stride=4x1 relu\nfc 2 softmax\n"
    (found,) = specc.check(text, select=["W202"]).warnings
    assert "never reads the last 2 rows:" in found.message  # (10 - 4) % 4 = 2; the width divides


def test_w205_quotes_the_receptive_field() -> None:
    (found,) = warning_of("W205.cnn", "W205").warnings
    assert "receptive field (conv2) is 5x5, 2.44% of the 32x32 input" in found.message


def test_w402_says_what_two_dropouts_keep() -> None:
    second = warning_of("W402.cnn", "W402").warnings[1]
    assert "keep 0.25 of the values" in second.message and second.help == "use one `dropout 0.75`"


def test_warnings_point_at_the_option_they_are_about() -> None:
    stride = warning_of("W201.cnn", "W201").warnings[0]
    assert (stride.span.line, stride.span.column) == (4, 13)  # `stride=3`
    rate = warning_of("W402.cnn", "W402").warnings[0]
    assert (rate.span.column, rate.span.end_column) == (9, 10)  # the `0` of `dropout 0`
    bias = warning_of("W401.cnn", "W401").warnings[1]
    assert (bias.span.line, bias.span.column) == (6, 13)  # `bias=true`


def test_long_axes_are_shortened_without_changing_the_counts() -> None:
    for size, kernel, stride, dilation, before in itertools.product(range(1, 90, 7), range(1, 6), range(1, 6),
                                                                     range(1, 4), range(3)):
        for after in range(3):
            out = output_size(size, kernel, stride, before + after, dilation)
            if out >= 1:
                exact = coverage(size, kernel, stride, dilation, before, out, limit=10**9)
                assert coverage(size, kernel, stride, dilation, before, out, limit=0) == exact


def test_huge_maps_and_kernels_check_quickly() -> None:
    text = "input 2_000_000_000x8x1\nconv 1 3x1 stride=2x1 relu\nconv 1 1_000_000x1 relu\nfc 2 softmax\n"
    found = specc.check(text, select=["ALL"]).warnings
    assert [(d.line, d.code) for d in found] == [(2, "W202"), (4, "W101")]


def test_absurd_strides_and_dilations_are_skipped_not_allocated() -> None:
    text = ("input 2_000_000_000x8x1\nconv 1 3x1 dilation=900_000_000x1 relu\n"
            "conv 1 2x1 stride=1_000_000_000x1 relu\nfc 2 softmax\n")
    analysis = specc.check(text, select=["W2"])
    assert not analysis.errors and analysis.warnings == []
