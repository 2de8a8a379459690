"""No input ever produces a traceback: random bytes, mutated specs, huge
numbers and huge files all come back as diagnostics (exit 1) or a report."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specc
import specc.report
from specc.cli import main
from specc.diagnostics import CODES
from specc.syntax import lines as source_lines

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.cnn"))
TEXTS = [p.read_bytes() for p in SPECS]
NOISE = list(b"=:x\xc3\x97#,.-_ \t\n\r0123456789") + [0xff, 0x00, 0xe9]


def assert_clean(data: bytes) -> specc.Analysis:
    analysis = specc.check(data, "fuzz.cnn")
    lines = len(source_lines(analysis.source)) if analysis.source else max(1, data.count(b"\n") + 1)
    for d in analysis.diagnostics:
        assert d.code in CODES or d.code.startswith("W"), d
        assert 1 <= d.span.line <= lines and d.span.column >= 1, d
        assert d.message
    with redirect_stdout(io.StringIO()):
        for fmt in ("text", "json"):
            print(specc.report.render([analysis], fmt))
    return analysis


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(TEXTS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate_line", "digits"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "insert":
            data[at:at] = bytes([draw(st.sampled_from(NOISE))])
        elif op == "delete" and data:
            del data[at]
        elif op == "replace" and data:
            data[at] = draw(st.sampled_from(NOISE))
        elif op == "digits":
            data[at:at] = str(draw(st.sampled_from([0, -1, 10**30, 2**31, 99999]))).encode()
        else:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_specs_give_diagnostics_not_tracebacks(data: bytes) -> None:
    assert_clean(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_give_diagnostics_not_tracebacks(data: bytes) -> None:
    analysis = assert_clean(data)
    assert analysis.errors  # never a valid spec: there is no `input`


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("input conv fc maxpool 0123456789x×=:#relu\n\t.")), max_size=200))
def test_random_near_specs_give_diagnostics_not_tracebacks(text: str) -> None:
    assert_clean(text.encode())


def test_huge_file_and_huge_numbers(tmp_path: Path) -> None:
    lines = ["input 1000000x1000000x3", "conv 2147483647 3x3 padding=same"]
    lines += ["relu"] * 99_997  # 100,000 layers: the most a spec may have
    lines += ["fc 2147483647", "fc 10"]
    spec = tmp_path / "huge.cnn"
    spec.write_text("\n".join(lines))
    analysis = specc.check(spec)
    assert analysis.ok
    assert analysis.layers[0].params == (3 * 3 * 3 + 1) * 2147483647
    assert analysis.layers[-2].params == (1_000_000 * 1_000_000 * 2147483647 + 1) * 2147483647


def test_binary_garbage_on_the_command_line_exits_1_without_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.cnn"
    junk.write_bytes(bytes(range(256)) * 4)
    out = subprocess.run([sys.executable, "-m", "specc", "check", str(junk)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "E001" in out.stdout and "Traceback" not in out.stderr + out.stdout


def test_every_mutation_of_lenet_exits_0_or_1(tmp_path: Path) -> None:
    source = (Path(__file__).parent.parent / "specs" / "lenet5.cnn").read_text()
    for i in range(len(source) // 7):
        spec = tmp_path / f"m{i}.cnn"
        spec.write_text(source[: i * 7] + source[i * 7 + 3:])
        with redirect_stdout(io.StringIO()):
            assert main(["check", str(spec)]) in (0, 1)
