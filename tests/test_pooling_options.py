"""`out=` (adaptive pooling) and `round=up` (ceil_mode) of `maxpool` and `avgpool`, against torch:
shapes, the report, diagnostics, generated code, ONNX export and completion (issue 23, spec-io.md §4).
The random-spec oracles (tests/strategies.py, rank_strategies.py, graph_strategies.py) draw both too."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import specc
from specc.codegen import generate
from specc.runtime.build import build


def _check(text: str) -> specc.Analysis:
    return specc.check(text, "pool.cnn")


@pytest.mark.parametrize("n, out", [(55, 27), (111, 55), (13, 6), (56, 28), (4, 2), (3, 1)])
def test_squeezenet_maxpool_rounds_up_like_ceil_mode(n: int, out: int) -> None:
    analysis = _check(f"input {n}x{n}x2\nmaxpool 3x3 s=2 round=up\n")
    assert analysis.ok, analysis.diagnostics
    torch_out = nn.MaxPool2d(3, 2, ceil_mode=True)(torch.zeros(1, 2, n, n)).shape[-1]
    assert analysis.layers[0].output == (out, out, 2) == (torch_out, torch_out, 2)
    assert _check(f"input {n}x{n}x2\nmaxpool 3x3 s=2 round=down\n").layers[0].output == \
        _check(f"input {n}x{n}x2\nmaxpool 3x3 s=2\n").layers[0].output


CEIL_CASES = [(n, k, s, p) for n in (1, 2, 3, 5, 6, 7, 8) for k in (1, 2, 3, 4) for s in (1, 2, 3) for p in (0, 1, 2)
              if 2 * p <= k]


@pytest.mark.parametrize("n, k, s, p", CEIL_CASES)
def test_round_up_output_is_torch_s_with_its_last_window_rule(n: int, k: int, s: int, p: int) -> None:
    """The last window must start inside the input or the left padding: torch drops one in the right padding."""
    analysis = _check(f"input {n}x{n + 1}x1\navgpool {k} s={s} p={p} round=up\n")
    try:
        want = nn.AvgPool2d(k, s, p, ceil_mode=True)(torch.zeros(1, 1, n, n + 1)).shape[2:]
    except RuntimeError:
        assert not analysis.ok and analysis.errors[0].code == "E201"
        return
    assert analysis.ok, analysis.diagnostics
    assert analysis.layers[0].output == (*want, 1)


def test_round_up_keeps_the_border_so_no_floor_warning() -> None:
    down = _check("input 7x7x1\nconv 2 1 relu\nmaxpool 2x2\nflatten\nfc 2\n")
    up = _check("input 7x7x1\nconv 2 1 relu\nmaxpool 2x2 round=up\nflatten\nfc 2\n")
    assert "W202" in {d.code for d in down.diagnostics}
    assert "W202" not in {d.code for d in up.diagnostics}
    assert up.layers[1].output == (4, 4, 2)


def test_round_up_is_not_called_a_flooring_when_a_concat_does_not_fit() -> None:
    text = "input 25x25x2\nskip: conv 2 1\nmaxpool 2 {}\nupsample 2\nconcat skip\n"
    floored = _check(text.format(""))
    rounded = _check(text.format("round=up"))
    (e_floor,) = [d for d in floored.errors if d.code == "E205"]
    (e_round,) = [d for d in rounded.errors if d.code == "E205"]
    assert "floored height 25 to 12" in e_floor.message + (e_floor.help or "")
    assert "floored" not in e_round.message + (e_round.help or "")
    assert rounded.layers[2].output[:2] == (26, 26)


@pytest.mark.parametrize("op", ["max", "avg"])
def test_out_is_adaptive_pooling_with_torch_s_windows(op: str) -> None:
    analysis = _check(f"input 13x10x3\n{op}pool out=6x4\n")
    assert analysis.ok, analysis.diagnostics
    (r,) = analysis.layers
    assert (r.output, r.params, r.macs) == ((6, 4, 3), 0, 0)
    # windows of 13 rows to 6: [0,3) [2,5) [4,7) [6,9) [8,11) [10,13): 3 rows; 10 to 4: [0,3) [2,5) [5,8) [7,10)
    assert r.receptive_field == (3, 3)
    module = build(f"input 13x10x3\n{op}pool out=6x4\n").eval()
    twin = nn.AdaptiveMaxPool2d((6, 4)) if op == "max" else nn.AdaptiveAvgPool2d((6, 4))
    x = torch.randn(2, 3, 13, 10)
    torch.testing.assert_close(module(x), twin(x))


def test_the_largest_adaptive_window_is_torch_s() -> None:
    from specc.kinds.pool import largest_window

    for n in range(1, 40):
        for out in range(1, 45):
            windows = [-(-(i + 1) * n // out) - i * n // out for i in range(out)]
            assert largest_window(n, out) == max(windows), (n, out)


def test_avgpool_out_1_reports_what_globalavgpool_does() -> None:
    tail = "input 9x7x3\nconv 4 3 relu\n{}\nfc 2\n"
    adaptive, whole = _check(tail.format("avgpool out=1")), _check(tail.format("globalavgpool"))
    for a, g in zip(adaptive.layers, whole.layers):
        assert (a.output, a.params, a.macs, a.receptive_field, a.jump) == \
            (g.output, g.params, g.macs, g.receptive_field, g.jump)
    assert adaptive.totals == whole.totals


@pytest.mark.parametrize("written, names", [("maxpool 3 out=2", ("a kernel", "out=")),
                                            ("avgpool out=2 s=2", ("stride=", "out=")),
                                            ("avgpool out=2x2 padding=1", ("padding=", "out=")),
                                            ("maxpool out=2 round=up", ("round=", "out="))])
def test_a_window_written_beside_out_is_an_error_naming_both(written: str, names: tuple[str, str]) -> None:
    analysis = _check(f"input 8x8x1\n{written}\n")
    (error,) = analysis.errors
    assert error.code == "E107" and all(name in error.message for name in names), error.message
    assert error.span.line == 2


def test_round_takes_up_or_down_and_a_pool_without_kernel_or_out_is_e103() -> None:
    (bad,) = _check("input 8x8x1\nmaxpool 2 round=ceil\n").errors
    assert bad.code == "E105" and "up" in bad.message and "down" in bad.message
    (missing,) = _check("input 8x8x1\nmaxpool s=2\n").errors
    assert missing.code == "E103"


def test_generated_code_writes_ceil_mode_and_adaptive_modules() -> None:
    code = generate(_check("input 55x55x3\nmaxpool 3 s=2 round=up\navgpool out=6x6\nmaxpool out=2\n"))
    assert "nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)" in code
    assert "nn.AdaptiveAvgPool2d(6)" in code and "nn.AdaptiveMaxPool2d(2)" in code


RANKED = ["input 17x2 layout=lc\nmaxpool 3 s=2 p=1 round=up\navgpool 2 s=2 p=1 round=up\n"
          "avgpool out=3\nmaxpool out=2\n",
          "input 5x7x6x2\navgpool 2 s=2 p=1 round=up\nmaxpool out=2x3x2\navgpool out=3\n"]


@pytest.mark.parametrize("text", RANKED, ids=["1-D", "3-D"])
def test_other_ranks_build_the_ranked_modules_and_match_torch(text: str) -> None:
    analysis = _check(text)
    assert analysis.ok, analysis.diagnostics
    module = build(text).eval()
    rank = len(analysis.model.input) - 1
    x = torch.randn(2, analysis.model.input[-1], *analysis.model.input[:-1])
    out = module(x)
    assert tuple(out.shape[2:]) == analysis.output[:-1]
    names = {type(m).__name__ for m in module.modules()}
    assert f"AdaptiveMaxPool{rank}d" in names and f"AvgPool{rank}d" in names


# Uneven adaptive windows (which torch exports for no rank as adaptive ops), max over uneven windows, 3-D
# average pooling, and ceil_mode where torch drops a last window that ONNX keeps (max and average, every rank).
EXPORTED = {
    "uneven-2d": "input 13x11x3\nconv 4 3 relu\nmaxpool out=3x2\navgpool out=2\nflatten\nfc 3\n",
    "divides-2d": "input 12x12x3\nmaxpool out=4\navgpool out=2x1\n",
    "adaptive-3d": "input 5x7x6x2\nconv 3 2 relu\navgpool out=2x3x2\nmaxpool out=3\n",
    "adaptive-1d": "input 13x2 layout=lc\nmaxpool out=5\navgpool out=3\n",
    "ceil-drop-2d": "input 7x7x2\navgpool 2 s=3 p=1 round=up\nmaxpool 2 s=2 p=1 round=up\n",
    "ceil-drop-1d": "input 7x2 layout=lc\navgpool 2 s=3 p=1 round=up\nmaxpool 2 s=2 p=1 round=up\n",
    "ceil-drop-3d": "input 3x3x3x2\navgpool 2 s=2 p=1 round=up\nmaxpool 2 s=2 p=1 round=up\n",
    "squeezenet-stem": "input 55x55x3\nmaxpool 3x3 s=2 round=up\navgpool 3 s=2 round=up\n",
}


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_every_out_and_round_up_exports_verified(name: str, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnxruntime as ort

    from specc.exporting import ExportOptions, export

    spec = tmp_path / f"{name}.cnn"
    spec.write_text(EXPORTED[name])
    result = export(spec, tmp_path / f"{name}.onnx", ExportOptions(seed=3))
    torch.manual_seed(3)
    module = build(spec).eval()
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((3, *session.get_inputs()[0].shape[1:]), dtype=np.float32)
    (got,) = session.run(None, {"input": x})
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    # the modules are themselves again after the export: the swap lasts only while exporting
    assert all("forward" not in vars(m) for m in module.modules())


def test_completion_offers_out_and_round_and_round_s_values() -> None:
    pytest.importorskip("lsprotocol")
    from specc.lsp.complete import complete

    text = "input 8x8x1\nmaxpool 2 \navgpool 2 round=\n"
    analysis = specc.check(text, "c.cnn")
    options = {item.label for item in complete(analysis, 1, len("maxpool 2 "))}
    assert {"out=", "round="} <= options
    values = {item.label for item in complete(analysis, 2, len("avgpool 2 round="))}
    assert values == {"up", "down"}
