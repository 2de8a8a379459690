"""The later networks' kinds (issue 12) against torch: transposed `p=same`
for every kernel and stride up to 4, receptive fields of the upsampling kinds
read from a gradient through the generated module, 1-D/3-D rank errors, the
U-Net's odd-size message and its and MobileNet v2's figures and training step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import specc

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("n", [1, 4, 5])
@pytest.mark.parametrize("k, s", [(k, s) for k in range(1, 5) for s in range(1, 5)])
def test_transposed_same_gives_input_times_stride_in_torch(n: int, k: int, s: int) -> None:
    # Keras' Conv2DTranspose(padding='same') shape: out = in * stride, whatever the kernel.
    text = f"input {n}x{n + 1}x2\nconvtranspose 3 {k} s={s} p=same\n"
    analysis = specc.check(text)
    assert analysis.ok, analysis.diagnostics
    model = specc.build(analysis).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 2, n, n + 1))
    assert tuple(out.shape) == (2, 3, n * s, (n + 1) * s)
    assert analysis.layers[0].output == (n * s, (n + 1) * s, 3)
    weights = model.state_dict()
    assert analysis.totals.params == sum(v.numel() for v in weights.values())


def _gradient_extent(model: torch.nn.Module, shape: tuple[int, ...], axis: int) -> int:
    """The most input positions along ``axis`` a 2-D output unit of channel 0 has a nonzero gradient on."""
    x = (torch.rand(1, shape[-1], *shape[:-1]) + 0.5).requires_grad_()  # positive: no relu cuts a path
    out = model(x)
    widest = 0
    middle = out.shape[3 - axis] // 2  # the other axis: two neighbours, as a stride may skip one of them
    for index in range(out.shape[2 + axis]):
        for other in (middle, middle + 1):
            position = (index, other) if axis == 0 else (other, index)
            (grad,) = torch.autograd.grad(out[(0, 0, *position)], x, retain_graph=True)
            live = grad[0].abs().sum(dim=0).nonzero()[:, axis]
            if len(live):
                widest = max(widest, int(live.max() - live.min()) + 1)
    return widest


@pytest.mark.parametrize("line", [
    "upsample 2", "upsample 3", "upsample 2 mode=bilinear", "upsample 3 mode=bilinear",
    "convtranspose 2 3 s=2 p=same", "convtranspose 2 4 s=2 p=1", "convtranspose 2 3 s=1",
    "convtranspose 2 5 s=3 p=same", "convtranspose 2 3 s=2 d=2",
])
@pytest.mark.parametrize("before", ["", "conv 2 3 s=2 relu\n"])
def test_receptive_field_of_upsampling_kinds_is_the_gradients(line: str, before: str) -> None:
    text = f"input 12x12x1\n{before}{line}\n"
    analysis = specc.check(text)
    assert analysis.ok, analysis.diagnostics
    model = specc.build(analysis).eval()
    with torch.no_grad():  # biases and weights nonzero everywhere, so a zero gradient means no path
        for p in model.parameters():
            p.copy_(torch.rand_like(p) + 0.5)
    reported = analysis.layers[-1].receptive_field
    assert reported[0] == _gradient_extent(model, (12, 12, 1), 0)


def test_rank_errors_name_both_ranks() -> None:
    analysis = specc.check("input 14x1 layout=lc\nconv 16 5x5\n")
    assert [d.message for d in analysis.errors] == ["kernel 5x5 is 2-D but its input is 1-D (14x1)"]
    analysis = specc.check("input 14x14x14x1\nmaxpool 2x2\n")
    assert [d.code for d in analysis.errors] == ["E207"]
    assert "2-D but its input is 3-D (14x14x14x1)" in analysis.errors[0].message


def test_lecture_1d_and_3d_convolutions() -> None:
    one = specc.check("input 14x1 layout=lc\nconv 16 5\n")
    assert (one.layers[0].output, one.totals.params, one.totals.macs) == ((10, 16), 96, 800)
    three = specc.check("input 14x14x14x1\nconv 16 5x5x5\n")
    assert (three.layers[0].output, three.totals.params, three.totals.macs) == ((10, 10, 10, 16), 2016, 2_000_000)


def test_unet_fed_an_odd_size_says_which_pooling_floored_what() -> None:
    text = (ROOT / "specs" / "unet.cnn").read_text().replace("input 96x128x3", "input 100x128x3")
    analysis = specc.check(text, "unet.cnn")
    (error,) = analysis.errors
    assert error.code == "E205" and "d3.skip" in error.message and "25x32x128" in error.message
    assert error.help == ("d3.pool1 (line 13, maxpool) floored height 25 to 12 (25/2); input heights that work "
                          "are multiples of 16 (e.g. 96 or 112; this one is 100)")


def test_output_padding_not_below_the_stride_is_refused_before_torch() -> None:
    analysis = specc.check("input 8x8x3\nconvtranspose 4 3 s=2 output_padding=2\n")
    assert [d.code for d in analysis.errors] == ["E206"]
    with pytest.raises(RuntimeError):  # what PyTorch itself would say, later
        torch.nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)(torch.zeros(1, 3, 8, 8))


def test_bias_before_a_norm_that_cancels_it_is_w401() -> None:
    cancelled = specc.check("input 8x8x4\nconv 4 3\ninstancenorm\nrelu\nconv 4 3\ngroupnorm 4\nrelu\nfc 2\n")
    assert [d.code for d in cancelled.diagnostics if d.code == "W401"] == ["W401", "W401"]
    kept = specc.check("input 8x8x4\nconv 4 3\nlayernorm\nrelu\nconv 4 3\ngroupnorm 2\nrelu\nfc 2\n")
    assert not [d for d in kept.diagnostics if d.code == "W401"]


@pytest.mark.parametrize("name, params, macs", [
    ("unet.cnn", 8_640_471, 2_511_077_376), ("mobilenetv2.cnn", 3_504_872, 300_774_272)])
def test_unet_and_mobilenet_v2_figures_and_one_training_step(name: str, params: int, macs: int) -> None:
    analysis = specc.check(ROOT / "specs" / name)
    assert analysis.ok and (analysis.totals.params, analysis.totals.macs) == (params, macs)
    model = specc.build(analysis).train()
    assert sum(p.numel() for p in model.parameters()) == params
    shape = analysis.model.input
    x = torch.randn(2, shape[-1], *shape[:-1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    loss = model(x).square().mean()
    loss.backward()
    optimizer.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("text", [
    "model signal\ninput 14x1 layout=lc\nconv 8 5 relu\nmaxpool 2\nlayernorm\nfc 3 softmax\n",
    "model volume\ninput 6x6x6x1\nconv 4 3 relu6\nmaxpool 2\nglobalavgpool\nfc 3 softmax\n",
])
def test_1d_and_3d_specs_train_and_export_verified(text: str, tmp_path: Path) -> None:
    from specc.cli import main

    spec = tmp_path / "net.cnn"
    spec.write_text(text)
    run = tmp_path / "run"
    assert main(["train", str(spec), "--data", "synthetic:64", "--epochs", "1", "--batch", "16",
                 "--out", str(run), "--quiet"]) == 0
    assert main(["export", str(run), "-o", str(tmp_path / "net.onnx")]) == 0  # export verifies parity itself
    assert (tmp_path / "net.onnx").stat().st_size > 0


@pytest.mark.parametrize("line, error", [
    ("input dims=14x1 layout=lc", None),
    ("input dims=4x4x4x1 layout=hwc", ("E105", 1, 12)),
    ("input dims=14x3x2 layout=lc", ("E105", 1, 12)),
])
def test_the_input_sizes_written_as_an_option_are_read_as_written_positionally(line, error) -> None:
    # `input dims=14x1 layout=lc` was an IndexError: the layout checks read the first positional argument
    a = specc.check(f"{line}\nconv 4 3\n", "t.cnn")
    found = [(d.code, d.span.line, d.span.column) for d in a.errors]
    assert found == ([error] if error else [])
    assert a.ok or error
