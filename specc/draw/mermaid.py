"""DrawGraph -> a Mermaid flowchart: renders on GitHub, GitLab and in JupyterLab.

Node ids are generated (``n0``, ``n1`` …) because Mermaid ids cannot hold every
label (dots, keywords such as ``end``); the label goes in quotes, with the
characters Mermaid would read as syntax written as entity codes. Blocks are
nested subgraphs; colours are one classDef per kind.
"""

from __future__ import annotations

import re

from . import style
from .layout import input_nodes, output_nodes
from .model import DrawBlock, DrawGraph, DrawNode


def text(label: str) -> str:
    """Label text safe inside ["..."]: quotes, brackets and markup as entity codes."""
    return re.sub(r'["<>#&\[\]{}|`]', lambda m: f"#{ord(m.group())};", label)


def _class(kind: str) -> str:
    return "k_" + re.sub(r"[^0-9A-Za-z]", "_", kind)


def render(graph: DrawGraph, direction: str = "TB") -> str:
    nodes = (*input_nodes(graph), *graph.nodes, *output_nodes(graph))
    ids = {n.id: f"n{i}" for i, n in enumerate(nodes)}
    frames = {b.path: f"b{i}" for i, b in enumerate(graph.blocks)}
    children: dict[str | None, list[DrawBlock]] = {}
    for block in graph.blocks:
        children.setdefault(block.parent, []).append(block)
    own: dict[str | None, list[DrawNode]] = {}
    for node in nodes:
        own.setdefault(node.block, []).append(node)
    lines = [f"flowchart {direction}"]
    lines += _members(None, children, own, (ids, frames), 1)
    lines += [f"  {ids[i]} --> {ids[n.id]}" for n in (*graph.nodes, *output_nodes(graph)) for i in n.inputs]
    kinds = sorted({n.base_kind for n in nodes})
    for kind in kinds:
        fill, stroke = style.colours(kind)
        lines.append(f"  classDef {_class(kind)} fill:{fill},stroke:{stroke},color:{style.TEXT}")
    for kind in kinds:
        lines.append(f"  class {','.join(ids[n.id] for n in nodes if n.base_kind == kind)} {_class(kind)}")
    return "\n".join(lines) + "\n"


def _members(path: str | None, children, own, names, depth: int) -> list[str]:
    ids, frames = names
    indent = "  " * depth
    lines = []
    for block in children.get(path, []):
        title = f"{block.path} · {style.params_text(block)}"
        lines.append(f'{indent}subgraph {frames[block.path]}["{text(title)}"]')
        lines += _members(block.path, children, own, names, depth + 1)
        lines.append(f"{indent}end")
    for node in own.get(path, []):
        label = "<br/>".join(text(line) for line in style.box_lines(node) if line)
        lines.append(f'{indent}{ids[node.id]}["{label}"]')
    return lines
