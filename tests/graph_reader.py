"""Read a hand-written graph spec into the generator's own model (graph_lines.py).

A test-side reader, independent of specc's parser: enough of the language
(spec-graphs.md) to read specs/'s examples — statements, labels, options,
`from=`, `repeat=`, merges, and `block NAME(params) { … }` — so that their
text can be expanded by graph_lines.py and built by graph_twin.py, and
compared with the hand-written twins before specc itself reads graphs.
"""

from __future__ import annotations

import re

from graph_lines import Block, Graph, Line, Scope, expand

BLOCK = re.compile(r"block\s+(\w+)\s*\((.*)\)\s*\{$")


def read_line(text: str) -> Line:
    label, sep, rest = text.partition(":")
    if not sep or " " in label.strip():
        label, rest = None, text
    words = rest.split()
    args = tuple(w for w in words[1:] if "=" not in w)
    opts = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    source, repeat = opts.pop("from", None), opts.pop("repeat", None)
    return Line(words[0], args, tuple(opts.items()), label.strip() if label else None, source,
                int(repeat) if repeat else None)


def read_spec(text: str) -> tuple[tuple[int, ...], tuple[Line, ...], dict[str, Block]]:
    """The input shape, the top-level lines and the blocks of a spec."""
    shape, top, blocks, body, header = (), [], {}, None, None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("model "):
            continue
        if line.startswith("input "):
            shape = tuple(int(d) for d in line.split()[1].split("x"))
            shape = shape + (1,) if len(shape) == 2 and "layout=lc" not in line else shape
        elif match := BLOCK.match(line):
            params = tuple((p.split("=")[0].strip(), p.split("=")[1].strip() if "=" in p else None)
                           for p in match.group(2).split(",") if p.strip())
            header, body = (match.group(1), params), []
        elif line == "}":
            blocks[header[0]] = Block(header[0], header[1], tuple(body))
            body = None
        else:
            (top if body is None else body).append(read_line(line))
    return shape, tuple(top), blocks


def expand_spec(text: str) -> tuple[tuple[int, ...], list[dict]]:
    """The concrete layers of a spec, as the generator's expansion reads it."""
    shape, lines, blocks = read_spec(text)
    graph = Graph(shape)
    expand(lines, blocks, Scope({}, {"input": -1}), graph, -1)
    return shape, graph.layers
