"""Sizes, fonts, colours and number formats shared by every renderer. No torch.

Text is measured by estimate, not by a font: boxes are sized for a wide sans
serif (0.62 em per character, bold 0.68 em) so that the generic font list
below never overflows a box, whichever of its fonts the viewer has.
"""

from __future__ import annotations

from ..kinds import FAMILY

FONT_FAMILY = "Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"
FONT_SIZE = 11
LINE = 14  # baseline to baseline
BOX_H = 3 * LINE + 12  # three lines: label, kind and shape, params
MIN_W = 96
PAD_X = 10

# Fill and stroke by family of kinds (specc.kinds.FAMILY); merges stand out, activations stay quiet.
FAMILY_COLOURS = {
    "conv": ("#dbeafe", "#1d4ed8"),
    "pool": ("#dcfce7", "#15803d"),
    "dense": ("#ffedd5", "#c2410c"),
    "norm": ("#f3e8ff", "#7e22ce"),
    "resize": ("#ecfccb", "#4d7c0f"),
    "activation": ("#fef9c3", "#a16207"),  # relu, sigmoid, softmax ... on a line of their own
    "dropout": ("#f5f5f4", "#78716c"),
    "merge": ("#fce7f3", "#be185d"),
}
# Boxes that are not a family's, and the kinds that stand apart from their family.
COLOURS = {
    "input": ("#f1f5f9", "#475569"),
    "output": ("#f1f5f9", "#475569"),
    "block": ("#ede9fe", "#5b21b6"),
    "convtranspose": ("#cffafe", "#0e7490"),
    "dwconv": ("#e0e7ff", "#4338ca"),
    "globalavgpool": ("#d1fae5", "#047857"),
    "globalmaxpool": ("#d1fae5", "#047857"),
    "zeropad": ("#f5f5f4", "#57534e"),
    "flatten": ("#f5f5f4", "#57534e"),
}
OTHER = ("#ffffff", "#334155")
TEXT = "#0f172a"
MUTED = "#475569"
EDGE = "#64748b"
FRAME = ("#faf5ff", "#8b5cf6")
BACKGROUND = "#ffffff"


def colours(base_kind: str) -> tuple[str, str]:
    """(fill, stroke) for a keyword ("conv", "relu", "input", "block"): its own, else its family's."""
    if base_kind in COLOURS:
        return COLOURS[base_kind]
    return FAMILY_COLOURS.get(FAMILY.get(base_kind, ""), OTHER)


def text_width(text: str, bold: bool = False) -> float:
    return len(text) * FONT_SIZE * (0.68 if bold else 0.62)


def num(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def box_lines(node) -> tuple[str, str, str]:
    """What a box says: its label; its kind and output shape; its parameters."""
    if node.kind in ("input", "output"):
        return node.label, node.shape_text, ""
    return node.label, f"{node.kind} · {node.shape_text}", params_text(node)


def params_text(box) -> str:
    """A box's or a frame's parameters: ``shares e1`` where they are another's (`share=`)."""
    return f"shares {box.shares}" if box.shares is not None else f"{num(box.params)} params"


def box_width(node) -> float:
    label, middle, params = box_lines(node)
    return max(MIN_W, text_width(label, bold=True) + 2 * PAD_X, text_width(middle) + 2 * PAD_X,
               text_width(params) + 2 * PAD_X)


def tooltip(node) -> str:
    """The hover text: where the line is and what it costs."""
    if node.kind == "input":
        return f"input {node.shape_text}"
    if node.kind == "output":
        return f"{node.label} {node.shape_text}: {node.inputs[0]}'s"
    rf = node.receptive_field
    # One number per axis of the input (1 for a 1-D signal, 3 for a volume of 3-D data): one when all agree.
    field = "?" if rf is None else (str(rf[0]) if len(set(rf)) == 1 else "x".join(map(str, rf)))
    params = f"params {num(node.params)}" if node.shares is None else f"the params of {node.shares} (share=)"
    return (f"{node.label} (line {node.line}): {node.kind}, output {node.shape_text}\n"
            f"{params}, MACs {num(node.macs)}\nreceptive field {field}")
