"""Generated code is already what `ruff format` leaves at its default settings (line length 88):
the example specs, graph specs with blocks, merges, repeats and long labels, random graph specs,
and the statement layouts of specc.codegen.formatting on their own. ruff runs --isolated, so no
project configuration (this repository's says 120) applies."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from pathlib import Path

from graph_strategies import graph_specs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specc
from specc.codegen import generate
from specc.codegen.formatting import LINE_LENGTH, class_header, commented, signature, statement

LONG = "a_label_long_enough_to_push_a_line_past_the_limit"

GRAPH_SPECS = {
    "long_labels_and_merges": f"""model {"m" * 75}
input 32x32x3
{LONG}1: conv 16 3x3 p=same relu
{LONG}2: conv 16 3x3 p=same relu from=input
{LONG}3: conv 16 3x3 p=same from=input
concat {LONG}1 {LONG}2 {LONG}3
c: conv 16 1x1
add c {LONG}3 {LONG}2 {LONG}1
conv 8 2x4 stride=2x1 padding=same groups=2 bias=false
convtranspose 8 3x3 stride=2 padding=same groups=4 bias=false
""",
    "block_with_many_inputs_and_outputs": """input 16x16x4
a1: conv 4 1x1
a2: conv 4 1x1
a3: conv 4 1x1
block a_block_whose_name_is_long_enough_to_need_a_line_of_its_own_in_python(p, q, r) {
first_value_read_outside: conv 4 3x3 p=same relu
second_value_read_outside: conv 4 3x3 p=same relu
third_value_read_outside: conv 4 3x3 p=same relu
        add p q r in
}
instance: a_block_whose_name_is_long_enough_to_need_a_line_of_its_own_in_python a1 a2 a3
concat instance.first_value_read_outside instance.second_value_read_outside instance.third_value_read_outside instance
""",
    "repeated_copies_called_one_by_one": """input 8x8x2
block b(p) {
s: conv 2 1x1
   add p in
}
x0: conv 2 1x1
a_repeated_call_with_a_long_label: b x0 repeat=12
concat a_repeated_call_with_a_long_label.0.s a_repeated_call_with_a_long_label.5.s a_repeated_call_with_a_long_label
""",
    "unread_branches": """input 28x28x3
block b(n) {
s:      conv n 3x3 p=same relu
        conv 2 1x1 from=in
        conv n 1x1 from=s
}
b1:     conv 8 1x1 relu
x1:     b 4 from=input
        b 4 from=input
reps:   b 4 from=x1 repeat=3
        globalavgpool
        fc 10 softmax
""",
}


def ruff_format_check(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "--isolated", "--no-cache", "."],
                          cwd=folder, capture_output=True, text=True)


def test_example_and_graph_specs_compile_to_formatted_code(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted((root / "specs").glob("*.cnn"))}
    for name, text in {**texts, **GRAPH_SPECS}.items():
        analysis = specc.check(text, f"{name}.cnn")
        assert analysis.ok, (name, analysis.diagnostics)
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(generate(analysis), encoding="utf-8")
    result = ruff_format_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in tmp_path.glob("*.py"):
        assert long_code_lines(path.read_text(encoding="utf-8")) == [], path.name


def long_code_lines(source: str) -> list[str]:
    """Lines past 88 columns other than docstrings (which quote the spec) and comments."""
    quoted = {n for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Expr)
              and isinstance(node.value, ast.Constant) for n in range(node.lineno, node.end_lineno + 1)}
    return [line for number, line in enumerate(source.splitlines(), 1)
            if len(line) > LINE_LENGTH and number not in quoted and not line.lstrip().startswith("#")]


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(graph_specs(), min_size=8, max_size=8))
def test_generated_code_for_random_graph_specs_is_formatted(drawn) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for index, spec in enumerate(drawn):
            Path(folder, f"graph_{index}.py").write_text(generate(specc.check(spec.text, "g.cnn")))
        result = ruff_format_check(Path(folder))
    assert result.returncode == 0, result.stdout + result.stderr


class _Statements:
    """Statements of the forms specc writes, with names from 1 to 60 characters (a long label)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def name(self, longest: int = 60) -> str:
        return "v" + "".join(self.rng.choice("abcdefghij_") for _ in range(self.rng.randint(1, longest)))

    def atom(self) -> str:
        return self.rng.choice([self.name(), f"self.{self.name()}", str(self.rng.randint(0, 999)), '"same"',
                                'float("-inf")', "(0, 1, 0, 1)", "(3, 5)"])

    def call(self, depth: int = 0) -> str:
        rng, kind = self.rng, self.rng.random()
        if depth < 2 and kind < 0.3:
            return f"torch.relu({self.call(depth + 1)})"
        if depth < 2 and kind < 0.4:
            return f"nn.functional.leaky_relu({self.call(depth + 1)}, 0.01)"
        if kind < 0.5:
            return f"torch.cat([{', '.join(self.name() for _ in range(rng.randint(1, 12)))}], dim=1)"
        if kind < 0.6:
            return f"nn.Sequential(*[{self.name().capitalize()}() for _ in range({rng.randint(1, 10**5)})])"
        if kind < 0.65:
            return f"nn.Sequential({', '.join(self.name().capitalize() + '()' for _ in range(rng.randint(1, 6)))})"
        args = [self.atom() for _ in range(rng.randint(1, 4))]
        args += [f"{self.name(12)}={self.atom()}" for _ in range(rng.randint(0, 6))]
        callee = rng.choice([f"self.{self.name()}", f"nn.{self.name(20).capitalize()}",
                             f"self.{self.name()}[{rng.randint(0, 99)}]"])
        return f"{callee}({', '.join(args)})"

    def block_call(self) -> str:
        callee = self.rng.choice([f"self.{self.name()}", f"self.{self.name()}[{self.rng.randint(0, 99)}]"])
        return f"{callee}({', '.join(self.name() for _ in range(self.rng.randint(1, 5)))})"

    def code(self) -> str:
        rng, r = self.rng, self.rng.random()
        names = lambda low, high: ", ".join(self.name() for _ in range(rng.randint(low, high)))  # noqa: E731
        if r < 0.1:
            return f"return {names(1, 6)}"
        if r < 0.15:
            return f"return {self.call()}"
        if r < 0.35:
            return f"{names(2, 5)} = {self.block_call()}"
        value = rng.choice([self.call(), self.call(), self.name(),
                            f" {rng.choice('+*')} ".join(self.name() for _ in range(rng.randint(2, 8)))])
        return f"{rng.choice(['x', self.name(), 'self.' + self.name()])} = {value}"

    def file(self) -> str:
        rng = self.rng
        lines = ["import torch", "from torch import nn", "", ""]
        lines += class_header(self.name(100).capitalize(), "nn.Module")
        lines += [*statement("    ", f'spec_name = "{"m" * rng.randint(1, 100)}"'), "", "    def f(self) -> None:"]
        for _ in range(300):
            if rng.random() < 0.3:
                lines += commented(" " * 8, self.code(), "line 3: conv 8 3x3" * rng.randint(1, 3), "(N, 8, 4, 4)",
                                   above=rng.random() < 0.5)
            else:
                lines += statement(" " * 8, self.code())
        for _ in range(20):
            params = ["self", *(f"{self.name(20)}: torch.Tensor" for _ in range(rng.randint(1, 8)))]
            results = rng.randint(1, 8)
            returns = "torch.Tensor" if results == 1 else f"tuple[{', '.join(['torch.Tensor'] * results)}]"
            lines += ["", *signature("    ", "forward", params, returns, "tuple[torch.Tensor, ...]"), "        pass"]
        return "\n".join(lines) + "\n"


def test_statement_layouts_are_a_fixed_point_of_ruff_format(tmp_path: Path) -> None:
    for seed in range(6):
        text = _Statements(seed).file()
        compile(text, f"s{seed}.py", "exec")  # still Python
        (tmp_path / f"statements_{seed}.py").write_text(text, encoding="utf-8")
    result = ruff_format_check(tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr
