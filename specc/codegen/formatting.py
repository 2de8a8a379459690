"""Generated lines as `ruff format` leaves them at its default line length (88). No torch.

A statement that fits stays on one line, which ruff keeps. One that does not is
laid out the way ruff lays it out: a call's arguments on a line of their own
where they fit there, else one item a line with a trailing comma, and so on
inward (ruff never joins a bracket that ends in such a comma). Only the forms
specc writes are handled: an assignment or ``return`` of calls, lists,
``+``/``*`` chains and names; a ``def`` and a ``class`` header. Only over-long
lines are parsed (``ast``), so the cost stays per line. A comment goes after
its statement where every one of a method's comments fits there; else each
goes on the line above, with the shape after the code.
tests/test_compile_format.py holds this to ruff itself.
"""

from __future__ import annotations

import ast
import unicodedata

LINE_LENGTH = 88  # ruff format's default
INDENT = "    "


def fits(line: str) -> bool:
    return (len(line) if line.isascii() else _width(line)) <= LINE_LENGTH


def _width(text: str) -> int:
    """Columns as ruff counts them: a wide East Asian character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def comment_line(indent: str, text: str) -> str:
    """``# text`` on a line of its own, cut short with `...` past the line length."""
    line = f"{indent}# {text}"
    if fits(line):
        return line
    cut = LINE_LENGTH - 3
    while not fits(line[:cut] + "..."):  # wide characters take two columns
        cut -= 1
    return line[:cut].rstrip() + "..."


def trailing(indent: str, code: str, comment: str, shape: str = "") -> str | None:
    """``code  # shape  comment`` on one line, or None where it does not fit."""
    whole = f"{shape}  {comment}" if shape else comment
    line = f"{indent}{code}  # {whole}"
    return line if fits(line) else None


def commented(indent: str, code: str, comment: str, shape: str = "", above: bool = False) -> list[str]:
    """The statement ``code`` with ``shape`` and ``comment`` (already escaped), as ruff leaves them:
    all after the code where it fits (and not ``above``), else the comment on the line above and
    the shape after the code, or both above when the code leaves no room."""
    line = None if above else trailing(indent, code, comment, shape)
    if line is not None:
        return [line]
    lines = statement(indent, code)
    if len(lines) == 1 and shape and fits(f"{lines[0]}  # {shape}"):
        return [comment_line(indent, comment), f"{lines[0]}  # {shape}"]
    return [comment_line(indent, f"{shape}  {comment}" if shape else comment), *lines]


def statement(indent: str, code: str) -> list[str]:
    """One assignment or ``return`` statement, split over lines where it does not fit."""
    if fits(indent + code):
        return [indent + code]
    node = ast.parse(code).body[0]
    text = _Source(code)
    if isinstance(node, ast.Return):
        assert node.value is not None, code  # specc returns a value
        if isinstance(node.value, ast.Tuple):
            return _bracket(text, node.value.elts, indent, "return (", ")")
        return _assigned(text, indent, "return ", None, node.value)
    assert isinstance(node, ast.Assign) and len(node.targets) == 1, code
    target = node.targets[0]
    return _assigned(text, indent, text(target) + " = ", target, node.value)


def signature(indent: str, name: str, params: list[str], returns: str, short_returns: str) -> list[str]:
    """``def name(params) -> returns:``, its parameters broken out as a call's arguments are when
    too long, and ``short_returns`` when ``returns`` would not fit after them."""
    line = f"{indent}def {name}({', '.join(params)}) -> {returns}:"
    if fits(line):
        return [line]
    if not fits(f"{indent}) -> {returns}:"):
        returns = short_returns
        line = f"{indent}def {name}({', '.join(params)}) -> {returns}:"
        if fits(line):
            return [line]
    tail = f") -> {returns}:"
    if fits(f"{indent}{INDENT}{', '.join(params)}"):  # the parameters on a line of their own
        return [f"{indent}def {name}(", f"{indent}{INDENT}{', '.join(params)}", indent + tail]
    return [f"{indent}def {name}(", *(f"{indent}{INDENT}{p}," for p in params), indent + tail]


def class_header(name: str, base: str) -> list[str]:
    line = f"class {name}({base}):"
    return [line] if fits(line) else [f"class {name}(", f"{INDENT}{base}", "):"]


class _Source:
    """The exact text of a node in the one-line statement (as specc wrote it: its quotes, its spaces).

    Sliced from the UTF-8 bytes by the node's offsets (which count bytes): ast.get_source_segment
    would split the whole statement again for every node, quadratic in a 1,000-way concat.
    """

    def __init__(self, code: str) -> None:
        self.data = code.encode()

    def __call__(self, node: ast.expr | ast.keyword) -> str:  # the nodes with offsets that specc slices
        return self.data[node.col_offset:node.end_col_offset].decode()


def _assigned(text: _Source, indent: str, head: str, target: ast.expr | None, value: ast.expr) -> list[str]:
    """``head`` (`x = `, `return `) and ``value``, as ruff splits the last expression of a statement:
    by the value's own brackets where the line up to the first one fits, else in parentheses
    where that makes it fit (a tuple of targets: always), else by its own brackets all the same."""
    inner = indent + INDENT
    if isinstance(value, ast.BinOp):
        if fits(inner + text(value)):
            return [f"{indent}{head}(", inner + text(value), f"{indent})"]
        first, *rest = _operands(value)
        return [f"{indent}{head}(", inner + text(first), *(f"{inner}{op} {text(v)}" for op, v in rest), f"{indent})"]
    if not (isinstance(value, ast.Call) and (value.args or value.keywords)):  # a name: parentheses or nothing
        if fits(inner + text(value)) and fits(f"{indent}{head}("):
            return [f"{indent}{head}(", inner + text(value), f"{indent})"]
        return [f"{indent}{head}{text(value)}"]
    func = value.func
    first_bracket = f"{text(func.value)}[" if isinstance(func, ast.Subscript) else f"{text(func)}("
    if fits(f"{indent}{head}{first_bracket}"):
        return _chain(text, value, indent, head, "")
    inside = [f"{indent}{head}(", *_expression(text, value, inner, "", ""), f"{indent})"]
    if isinstance(target, ast.Tuple):
        if fits(inside[0]):
            return inside
        return _bracket(text, target.elts, indent, "(", ")", _expression(text, value, indent, ") = ", ""))
    if all(fits(line) for line in inside):
        return inside
    return _chain(text, value, indent, head, "")


def _operands(value: ast.BinOp) -> list:
    """``a + b + c`` (parsed as ``(a + b) + c``) -> a, then (op, operand) pairs in order."""
    symbol = {ast.Add: "+", ast.Mult: "*"}[type(value.op)]
    pairs = []
    node: ast.expr = value
    while isinstance(node, ast.BinOp):
        pairs.append((symbol, node.right))
        node = node.left
    return [node, *reversed(pairs)]


def _expression(text: _Source, node: ast.expr | ast.keyword, indent: str, head: str, tail: str) -> list[str]:
    """``node`` between ``head`` and ``tail`` from column ``indent``: flat if it fits, else each
    bracket it opens broken after, one item a line, with a trailing comma."""
    flat = f"{indent}{head}{text(node)}{tail}"
    if fits(flat):
        return [flat]
    if isinstance(node, ast.Call) and (node.args or node.keywords):
        return _chain(text, node, indent, head, tail)
    if isinstance(node, ast.List):
        return _bracket(text, node.elts, indent, head + "[", "]" + tail)
    if isinstance(node, ast.Tuple):
        return _bracket(text, node.elts, indent, head + "(", ")" + tail)
    if isinstance(node, ast.Starred):
        return _expression(text, node.value, indent, head + "*", tail)
    if isinstance(node, ast.keyword):
        return _expression(text, node.value, indent, f"{head}{node.arg}=", tail)
    if isinstance(node, ast.ListComp):
        inner = indent + INDENT
        loops = [f"{inner}for {text(g.target)} in {text(g.iter)}" for g in node.generators]
        return [f"{indent}{head}[", inner + text(node.elt), *loops, f"{indent}]{tail}"]
    return [flat]  # a name or a number: nothing to split


def _chain(text: _Source, call: ast.Call, indent: str, head: str, tail: str) -> list[str]:
    """A call that does not fit, split by its brackets from the first: the copy's index of
    `self.b1[0](x, skip)` where the line up to the call's own bracket is too long, then the call's."""
    func = call.func
    if fits(f"{indent}{head}{text(func)}(") or not isinstance(func, ast.Subscript):
        return _arguments(text, call, indent, f"{head}{text(func)}(", tail)
    rest = f"{indent}]({', '.join([*map(text, call.args), *map(text, call.keywords)])}){tail}"
    index = [f"{indent}{head}{text(func.value)}[", indent + INDENT + text(func.slice)]
    return [*index, rest] if fits(rest) else [*index, *_arguments(text, call, indent, "](", tail)]


def _arguments(text: _Source, call: ast.Call, indent: str, opening: str, tail: str) -> list[str]:
    """A call broken after ``opening``: its arguments on one line of their own where they fit
    there (ruff's first choice), else one a line."""
    items: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    arguments = ", ".join(text(item) for item in items)
    if fits(indent + INDENT + arguments):
        return [indent + opening, indent + INDENT + arguments, f"{indent}){tail}"]
    return _bracket(text, items, indent, opening, ")" + tail)


def _bracket(text: _Source, items: list, indent: str, opening: str, closing: str,
             after: list[str] | None = None) -> list[str]:
    """``opening`` at the end of the first line, each item on a line of its own with a comma,
    ``closing`` on the last (or the lines ``after``, the first of which starts with ``closing``)."""
    lines = [indent + opening]
    for item in items:
        lines += _expression(text, item, indent + INDENT, "", ",")
    return lines + (after if after is not None else [indent + closing])
