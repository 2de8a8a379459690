"""Names and text for generated code: identifiers, attribute names, escaping.

Nothing the user wrote reaches generated code except through this module:
names become identifiers that pass ``str.isidentifier()`` and are not keywords
or ``nn.Module`` attributes; any other text (the model name, the file name,
spec lines, the spec itself) goes only into string literals, docstrings and
comments, escaped so that it cannot end them or start a line of code. No torch.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

from ..diagnostics import Span

# Public names of torch.nn.Module (instance and class), checked against the
# installed torch by tests/test_compile.py, plus what the generated class
# defines itself. A fixed list keeps the output independent of torch's version.
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile",
    "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
    "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia",
    "named_buffers", "named_children", "named_modules", "named_parameters", "parameters",
    "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
    "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
    "zero_grad",
})
GENERATED_ATTRIBUTES = frozenset({"logits", "input_shape", "final_activation", "num_outputs", "spec_name"})
RESERVED = MODULE_ATTRIBUTES | GENERATED_ATTRIBUTES | frozenset(keyword.kwlist)


def usable(name: str) -> bool:
    """Whether ``name`` can be an attribute of the generated module as it is."""
    return (name.isidentifier() and name.isascii() and not name.startswith("_")
            and name not in RESERVED and not keyword.iskeyword(name))


def _repair(name: str) -> str:
    """An unusable label made usable: `_x` -> `layer_x`, `forward` -> `forward_`."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not name or name[0].isdigit() or name.startswith("_"):
        name = "layer_" + name.lstrip("_")
    while name in RESERVED:
        name += "_"
    return name


def identifier(name: str) -> str:
    """``name`` where usable as an attribute or local variable, else repaired (`_x` -> `layer_x`)."""
    return name if usable(name) else _repair(name)


def _unique(name: str, taken: set[str]) -> str:
    while name in taken or name in RESERVED:
        name += "_"
    taken.add(name)
    return name


def attribute_names(names: Sequence[str]) -> list[str]:
    """One attribute name per layer (or block call) of a scope: its name where usable.

    Usable names are kept first, so a repaired name (`forward` -> `forward_`,
    `conv1.0` -> `conv1_0`) never takes a name the spec wrote; clashes add `_`
    in spec order.
    """
    taken = {name for name in names if usable(name)}
    return [name if usable(name) else _unique(_repair(name), taken) for name in names]


def extra_name(base: str, suffix: str, taken: set[str]) -> str:
    """A helper module's name next to its layer's (`conv2_pad`), unique in ``taken``."""
    return _unique(f"{base}_{suffix}", taken)


def class_name(model_name: str) -> str:
    """CamelCase class name: `lenet5` -> `Lenet5`, `my-net` -> `MyNet`, `vgg_16` -> `Vgg16`."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", model_name.replace("_", " ")) if p]
    name = "".join(p[0].upper() + p[1:] for p in parts) or "Model"
    if name[0].isdigit():
        name = "Model" + name
    return name + "_" if keyword.iskeyword(name) else name


def escape(text: str, quote: bool = True) -> str:
    """Text for inside a double-quoted string, docstring or comment.

    Backslashes and double quotes are escaped (with ``quote``), and every
    character that is not printable (newlines of any kind, form feeds, NUL,
    U+2028 ...) becomes an escape sequence, so the text stays on its line.
    """
    out = []
    for char in text:
        if quote and char in '\\"':
            out.append("\\" + char)
        elif not char.isprintable():
            out.append(repr(char)[1:-1])
        else:
            out.append(char)
    return "".join(out)


def string_literal(text: str) -> str:
    """A Python string literal that evaluates to ``text``, quoted as `ruff format` quotes it: double
    quotes, unless ``text`` holds more of them than single quotes (then fewer need a backslash)."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for char in text:
        if char in ("\\", quote):
            out.append("\\" + char)
        elif not char.isprintable():
            out.append(repr(char)[1:-1])
        else:
            out.append(char)
    return quote + "".join(out) + quote


def statement_text(lines: list[str], span: Span) -> str:
    """The statement at ``span`` in the spec's ``lines`` (specc.syntax.lines), without its comment,
    whitespace collapsed to single spaces."""
    if not 1 <= span.line <= len(lines):
        return ""
    line = lines[span.line - 1]
    end = span.end_column - 1 if span.end_line == span.line else len(line)
    return " ".join(line[span.column - 1 : end].split())
