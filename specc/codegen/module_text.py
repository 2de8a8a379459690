"""The generated file's text around the layers: header, class docstring, class
attributes, ``__init__``, ``forward`` and ``logits``. No torch.

Every line is built here from values already escaped or made identifiers by
:mod:`specc.codegen.names`, and laid out by :mod:`specc.codegen.formatting`
as `ruff format` leaves it at its default line length, 88. Only what no
formatter could split (a long label or spec line) goes past it, and then the
file starts with ``# ruff: noqa: E501``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..analysis import Analysis
from ..ir import Shape, channels_first
from ..kinds.emitting import Step, known
from .formatting import (
    INDENT,
    LINE_LENGTH,
    class_header,
    comment_line,
    commented,
    fits,
    signature,
    statement,
    trailing,
)
from .names import class_name, escape, string_literal
from .steps import Code, Remark

if TYPE_CHECKING:
    from ..ir import Model

LOSSES = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy_with_logits"}
BODY = INDENT * 2  # the statements of a method


def nchw(shape: Shape) -> str:
    """A report shape as torch sees it: (H, W, C) -> (N, C, H, W); (F,) -> (N, F)."""
    return "(N, " + ", ".join(map(str, channels_first(shape))) + ")"


def module_lines(modules: list[tuple[str, str, str]]) -> list[str]:
    """``__init__``'s lines: (attribute, constructor, comment) each."""
    items = [(f"self.{attr} = {ctor}", _text(note), "") for attr, ctor, note in modules]
    return _with_comments(items)


def step_lines(steps: Sequence[Step | Remark]) -> list[str]:
    """``forward``'s lines, each with the shape after it and the spec line it comes from."""
    items = [s if isinstance(s, Remark) else (f"{s.target} = {s.expr}", _text(s.note), nchw(s.shape))
             for s in steps]
    return _with_comments(items)


def _with_comments(items: Sequence[Remark | tuple[str, str, str]]) -> list[str]:
    """Statements (code, comment, shape) and remarks: each comment after its code where it fits
    there, else above it; when that is so for most of a method's lines, above all of them, so the
    method reads alike."""
    statements = [item for item in items if isinstance(item, tuple)]
    above = 2 * sum(trailing(BODY, *item) is None for item in statements) > len(statements)
    lines = []
    for item in items:
        if isinstance(item, Remark):
            lines += [comment_line(BODY, _text(item.note)), comment_line(BODY, _text(item.text))]
        else:
            lines += commented(BODY, *item, above=above)
    return lines


def kept_input_lines(variable: str, shape: Shape, where: str) -> list[str]:
    """The input kept in a variable of its own, because a later line reads it again."""
    return commented(BODY, f"{variable} = x", _text(f"{where}, read again below"), nchw(shape))


def method_header(name: str, params: list[str], results: int) -> list[str]:
    """``def name(self, x: torch.Tensor, ...) -> torch.Tensor:`` (a tuple for several results)."""
    returns = "torch.Tensor" if results == 1 else f"tuple[{', '.join(['torch.Tensor'] * results)}]"
    typed = ["self", *(f"{p}: torch.Tensor" for p in params)]
    return signature(INDENT, name, typed, returns, "tuple[torch.Tensor, ...]")


def block_class_body(block: str, code: Code, shape: Shape | None) -> str:
    """A block instance's class without its ``class`` line (the caller names the class)."""
    where = f"on an input of {nchw(shape)}" if shape else "on its input"
    lines = [f'{INDENT}"""The spec\'s block `{escape(block)}`, {where}."""',
             "", f"{INDENT}def __init__(self) -> None:", f"{BODY}super().__init__()", *module_lines(code.modules),
             "", *method_header("forward", ["x", *code.params], 1 + len(code.exports))]
    if code.kept_entry:
        lines += kept_input_lines(code.kept_entry, known(shape), "`in`")
    lines += step_lines(code.steps)
    lines += statement(BODY, f"return {', '.join([code.result, *code.exports])}")
    return "\n".join(lines)


def _text(comment: str) -> str:
    return escape(comment, quote=False)


def checked_model(analysis: Analysis) -> Model:
    """The model of an analysis without errors, the only kind code is generated from (generate() checks)."""
    if analysis.model is None:
        raise ValueError("code is generated only from an analysis without errors")
    return analysis.model


def _docstring(analysis: Analysis, spec_lines: list[str], final: str | None, version: str) -> list[str]:
    model, totals = checked_model(analysis), analysis.totals
    shape, output = known(model.input), known(analysis.output)
    outputs = [(name, known(analysis.shape_of(name))) for name in model.outputs]
    if final is None:
        meaning = "as the spec's last layer gives it; logits() is the same"
    else:
        over = "over dim 1 " if final == "softmax" else ""
        meaning = f"{final} {over}as the spec says; logits() gives the scores before it"
    shown = "x".join(str(d) for d in shape) + (", channels first" if len(shape) == 3 else "")
    head = [
        f"{escape(model.name)} ({escape(_file(analysis))}), generated by specc {version}.",
        "",
        f"Input: {nchw(shape)} (the spec's {shown})." if len(model.inputs) < 2 else
        "Inputs, in this order: " + ", ".join(f"{i.name} {nchw(known(i.shape))}" for i in model.inputs) + ".",
        f"Output: {nchw(output)}, {meaning}." if len(outputs) < 2 else
        "Outputs, a tuple in this order: " + ", ".join(f"{escape(n)} {nchw(s)}" for n, s in outputs) +
        ", each as its layer gives it; logits() is the same.",
        f"Parameters: {totals.params:,}; buffers: {totals.buffers:,} (batchnorm running statistics).",
        "A volume is flattened in NCHW (channel-major) order, unlike Keras' HWC.",
        "",
        "Source spec:",
        "",
    ]
    spec = [line.expandtabs(4).rstrip() for line in spec_lines]
    while spec and not spec[-1]:
        spec.pop()
    first, *rest = _wrapped(head[0], LINE_LENGTH - len(INDENT) - 3)  # 3: the opening quotes
    wrapped = [line for text in head[1:] for line in _wrapped(text, LINE_LENGTH - len(INDENT))]
    body = rest + wrapped + [f"{INDENT}{escape(line)}" if line else "" for line in spec]
    return [f'{INDENT}"""{first}', *(f"{INDENT}{line}" if line else "" for line in body), f'{INDENT}"""']


def _wrapped(text: str, width: int) -> list[str]:
    """A sentence of the docstring over lines of at most ``width`` (the spec's own lines are kept whole)."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def _module_docstring(model_name: str, name: str) -> list[str]:
    line = f'"""PyTorch module for the spec {escape(model_name)}: class {name}, built with no arguments."""'
    if fits(line):
        return [line]
    return [f'"""PyTorch module for the spec {escape(model_name)}.', "", f"Class {name}, built with no arguments.",
            '"""']


def _file(analysis: Analysis) -> str:
    path = analysis.path.replace("\\", "/")
    return path.rsplit("/", 1)[-1] if path not in ("", "-") else "<string>"


def _first(analysis: Analysis, kept_input: str | None, inputs: list[str]) -> list[str]:
    model = checked_model(analysis)
    if len(model.inputs) > 1:
        return [comment_line(BODY, _text(f"{variable}: {nchw(known(i.shape))}  line {i.span.line}: "
                                         f"{i.name}: input {'x'.join(map(str, known(i.shape)))}"))
                for variable, i in zip(inputs, model.inputs)]
    shape = known(model.input)
    where = f"line {model.input_span.line}: input {'x'.join(map(str, shape))}"
    if kept_input is None:
        return [comment_line(BODY, _text(f"x: {nchw(shape)}  {where}"))]
    return kept_input_lines(kept_input, shape, where)


def _methods(analysis: Analysis, body: Sequence[Step | Remark], result: str, final_step: Step | None,
             kept_input: str | None, inputs: list[str]) -> list[str]:
    final, results = analysis.final_activation, len(checked_model(analysis).outputs)
    header = method_header("forward", inputs, results)
    logits = method_header("logits", inputs, results)
    layers = [*_first(analysis, kept_input, inputs), *step_lines(body), *statement(BODY, f"return {result}")]
    model = checked_model(analysis)
    same = "the spec ends in no softmax or sigmoid" if model.outputs == (model.layers[-1].name,) else \
        "each output is returned as its layer gives it"
    if final_step is None:
        return [*header, f'{BODY}"""The spec\'s network, layer by layer."""', *layers,
                "", *logits, f'{BODY}"""The same as forward: {same}."""',
                f"{BODY}return self.forward({', '.join(inputs)})"]
    assert final is not None  # generate() makes a final step only for a final activation
    return [*header, f'{BODY}"""The spec\'s output: {final} of logits(x)."""',
            *commented(BODY, f"return {final_step.expr}", _text(final_step.note), nchw(final_step.shape)),
            "", *logits, f'{BODY}"""Scores before the final {final}: train with {LOSSES[final]} on these."""',
            *layers]


def module_source(analysis: Analysis, spec_lines: list[str], modules: list[tuple[str, str, str]],
                  body: Sequence[Step | Remark], result: str, final_step: Step | None, version: str,
                  kept_input: str | None = None,
                  classes: list[str] | None = None, inputs: list[str] | None = None) -> str:
    """The whole file: ``spec_lines`` are the spec's (specc.syntax.lines), quoted in the class
    docstring; ``modules`` are (attribute, constructor, comment); ``body`` the steps of
    logits (of forward when ``final_step`` is None), which return the variable ``result``;
    ``kept_input`` names the input's variable when a later line reads it again."""
    model, final = checked_model(analysis), analysis.final_activation
    name = class_name(model.name)
    output = known(analysis.output)
    init = [f"{BODY}super().__init__()", *module_lines(modules)]
    lines = [
        f"# Generated by specc {version} from {escape(_file(analysis), quote=False)}: do not edit;",
        "# change the spec and run `specc compile` again.",
        *_module_docstring(model.name, name),
        "",
        "import torch",
        "from torch import nn",
        "",
        "",
        *(line for cls in classes or () for line in (*cls.split("\n"), "", "")),
        *class_header(name, "nn.Module"),
        *_docstring(analysis, spec_lines, final, version),
        "",
        *statement(INDENT, f"spec_name = {string_literal(model.name)}"),
        f"{INDENT}input_shape = {channels_first(known(model.input))!r}",
        *([f"{INDENT}input_shapes = {tuple(channels_first(known(i.shape)) for i in model.inputs)!r}"]
          if len(model.inputs) > 1 else []),
        f"{INDENT}final_activation = {string_literal(final) if final else None}",
        f"{INDENT}num_outputs = {output[-1]}",
        "",
        f"{INDENT}def __init__(self) -> None:",
        *init,
        "",
        *_methods(analysis, body, result, final_step, kept_input, inputs or ["x"]),
    ]
    if not all(fits(line) for line in lines):
        lines.insert(2, "# ruff: noqa: E501")  # after the two lines of the header
    return "\n".join(lines) + "\n"
