"""DrawGraph -> Graphviz dot text: boxes coloured by kind, a cluster per block instance.

For people who have Graphviz (`dot -Tpng`); specc itself never runs it.
Every string is quoted, so labels with dots, quotes or spaces stay one name.
"""

from __future__ import annotations

from . import style
from .layout import input_nodes, output_nodes
from .model import DrawBlock, DrawGraph, DrawNode


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _node(node: DrawNode, indent: str) -> str:
    fill, stroke = style.colours(node.base_kind)
    label = "\n".join(line for line in style.box_lines(node) if line)
    return (f"{indent}{quote(node.id)} [label={quote(label)}, fillcolor={quote(fill)}, color={quote(stroke)}, "
            f"tooltip={quote(style.tooltip(node))}];")


def _cluster(block: DrawBlock, children: dict[str | None, list[DrawBlock]], own: dict[str | None, list[DrawNode]],
             depth: int) -> list[str]:
    indent = "  " * depth
    fill, stroke = style.FRAME
    lines = [f"{indent}subgraph {quote('cluster_' + block.path)} {{",
             f"{indent}  label={quote(f'{block.path} · {style.params_text(block)}')}; "
             f"style=\"rounded,dashed\"; color={quote(stroke)}; bgcolor={quote(fill)};"]
    for child in children.get(block.path, []):
        lines += _cluster(child, children, own, depth + 1)
    lines += [_node(n, indent + "  ") for n in own.get(block.path, [])]
    lines.append(f"{indent}}}")
    return lines


def render(graph: DrawGraph, direction: str = "TB") -> str:
    children: dict[str | None, list[DrawBlock]] = {}
    for block in graph.blocks:
        children.setdefault(block.parent, []).append(block)
    own: dict[str | None, list[DrawNode]] = {}
    for node in (*input_nodes(graph), *graph.nodes, *output_nodes(graph)):
        own.setdefault(node.block, []).append(node)
    lines = [f"digraph {quote(graph.name)} {{",
             f"  rankdir={direction};",
             f"  node [shape=box, style=\"rounded,filled\", fontname={quote(style.FONT_FAMILY.split(',')[0])}, "
             f"fontsize={style.FONT_SIZE}];",
             f"  edge [color={quote(style.EDGE)}];"]
    for block in children.get(None, []):
        lines += _cluster(block, children, own, 1)
    lines += [_node(n, "  ") for n in own.get(None, [])]
    lines += [f"  {quote(i)} -> {quote(n.id)};" for n in (*graph.nodes, *output_nodes(graph)) for i in n.inputs]
    lines.append("}")
    return "\n".join(lines) + "\n"
