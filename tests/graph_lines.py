"""The generator's own reading of graph specs: lines, blocks, and their expansion.

tests/graph_strategies.py draws specs as ``Line``s and ``Block``s; this module
renders them as .cnn text and expands them — independently of specc, from
spec-graphs.md alone — into concrete layers: plain dicts with ``inputs``
(indices into the layer list; -1 is the network input) and the shape the
contract's rules give. Those shapes only keep the generator valid; the
oracle's figures come from torch (graph_twin.py).

Values are kept as the tokens a user writes (``in.c*2``, ``x.c/4``, ``3x3``,
``same``, a parameter name) and evaluated here by a tiny evaluator of our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from graph_layers import MERGES, Invalid, Shape, layer

UNNAMED = "?"  # the instance path of an unlabelled call: specc numbers those itself
WORDS = {"true": True, "false": False}


@dataclass(frozen=True)
class Line:
    """One statement: `[label:] kind args… name=value… [from=REF] [repeat=N]` (a layer or a block call)."""

    kind: str
    args: tuple[str, ...] = ()
    opts: tuple[tuple[str, str], ...] = ()
    label: str | None = None
    source: str | None = None
    repeat: int | None = None

    def text(self) -> str:
        words = [self.kind, *self.args, *(f"{k}={v}" for k, v in self.opts)]
        words += [f"from={self.source}"] * (self.source is not None) + [f"repeat={self.repeat}"] * bool(self.repeat)
        return (f"{self.label}: " if self.label else "") + " ".join(words)

    def labelled(self, label: str) -> Line:
        return replace(self, label=label)


@dataclass(frozen=True)
class Block:
    name: str
    params: tuple[tuple[str, str | None], ...]  # (name, default as written, or None)
    body: tuple[Line, ...]
    labels: tuple[str, ...] = ()  # labels of the body, as INSTANCE.LABEL may reach them

    def text(self) -> str:
        params = ", ".join(name if default is None else f"{name}={default}" for name, default in self.params)
        body = "".join(f"        {line.text()}\n" for line in self.body)
        return f"block {self.name}({params}) {{\n{body}}}\n"


@dataclass
class Graph:
    """The expansion so far: concrete layers in source order, with their shapes."""

    input: Shape
    layers: list[dict] = field(default_factory=list)

    def shape(self, node: int) -> Shape:
        return self.input if node == -1 else self.layers[node]["shape"]


@dataclass
class Scope:
    """What a body sees: its parameters, `in` (or `input` at top level) and the labels above."""

    params: dict[str, object]
    names: dict[str, int]


def evaluate(token: str, scope: Scope, graph: Graph) -> object:
    """A written value: number, dims, word, parameter, REF.c/.h/.w, or A*B / exact A/B of those."""
    for op in ("*", "/"):
        if op in token:
            left, right = (evaluate(part, scope, graph) for part in token.split(op, 1))
            if op == "/" and left % right:
                raise Invalid(f"{token}: {left} / {right} is not exact")
            return left * right if op == "*" else left // right
    if re.fullmatch(r"\d+", token):
        return int(token)
    if re.fullmatch(r"\d+\.\d+", token):
        return float(token)
    if re.fullmatch(r"\d+(x\d+)+", token):
        return tuple(int(d) for d in token.split("x"))
    if token in WORDS:
        return WORDS[token]
    if token in scope.params:
        return scope.params[token]
    head, _, axis = token.rpartition(".")
    if axis in ("c", "h", "w") and head:
        shape = graph.shape(resolve(head, scope))
        return {"h": shape[0], "w": shape[1], "c": shape[-1]}[axis]
    return token  # a word: same, valid, an activation, a mode


def resolve(ref: str, scope: Scope) -> int:
    value = scope.params.get(ref, scope.names.get(ref))
    if isinstance(value, Reference):
        return value.node
    if not isinstance(value, int):
        raise Invalid(f"unknown reference {ref}")
    return value


@dataclass(frozen=True)
class Reference:
    """A layer passed to a block as a parameter (`up 256 d4.skip`)."""

    node: int


def expand(lines: tuple[Line, ...], blocks: dict[str, Block], scope: Scope, graph: Graph, first: int,
           instance: str | None = None) -> int:
    """Append the layers of ``lines`` to ``graph``; return the last one's node (the body's output)."""
    previous = first
    for line in lines:
        previous = expand_line(line, blocks, scope, graph, previous, instance)
    return previous


def expand_line(line: Line, blocks: dict[str, Block], scope: Scope, graph: Graph, previous: int,
                instance: str | None = None) -> int:
    """Expand one line (its copies, if repeated); ``instance``: the enclosing block instance's path."""
    copies = line.repeat or 1
    source = resolve(line.source, scope) if line.source is not None else previous
    for index in range(copies):
        name = f"{line.label}.{index}" if line.label and line.repeat else line.label
        if line.kind in blocks:
            inner: dict[str, int] = {}
            path = UNNAMED if instance == UNNAMED or not name else f"{instance}.{name}" if instance else name
            source = call(blocks[line.kind], line, blocks, scope, graph, source, inner, path)
            for label, node in inner.items():
                if name and "." not in label:  # INSTANCE.LABEL, one level deep; repeated: LABEL.i.INNER
                    scope.names[f"{name}.{label}"] = node
        else:
            source = add_layer(line, scope, graph, source, instance)
        if name:
            scope.names[name] = source
    if line.label:
        scope.names[line.label] = source
    return source


def add_layer(line: Line, scope: Scope, graph: Graph, previous: int, instance: str | None) -> int:
    if line.kind in MERGES:
        operands = [resolve(ref, scope) for ref in line.args]
        inputs = [previous, *operands] if len(operands) == 1 else operands
        args, opts = (), {}
    else:
        inputs = [previous]
        args = tuple(evaluate(a, scope, graph) for a in line.args)
        opts = {k: evaluate(v, scope, graph) for k, v in line.opts}
    described = layer(line.kind, args, opts, [graph.shape(i) for i in inputs])
    graph.layers.append(dict(described, inputs=tuple(inputs), block=instance))
    return len(graph.layers) - 1


def call(block: Block, line: Line, blocks: dict[str, Block], outer: Scope, graph: Graph, source: int,
         inner: dict[str, int], instance: str) -> int:
    """Bind the call's arguments, expand the body on ``source``; fill ``inner`` with the body's labels."""
    names = [name for name, _ in block.params]
    bound: dict[str, object] = {}
    for name, token in zip(names, line.args):
        bound[name] = argument(token, outer, graph)
    for name, token in line.opts:
        if name not in names:
            raise Invalid(f"{block.name} has no parameter {name}")
        bound[name] = argument(token, outer, graph)
    for name, default in block.params:
        if name not in bound:
            if default is None:
                raise Invalid(f"{block.name}: {name} is required")
            bound[name] = evaluate(default, Scope({}, {}), graph)
    scope = Scope(bound, {"in": source})
    out = expand(block.body, blocks, scope, graph, source, instance)
    inner.update({k: v for k, v in scope.names.items() if k != "in"})
    return out


def argument(token: str, outer: Scope, graph: Graph) -> object:
    """A call's value: a reference to a layer when it names one, otherwise a value."""
    if token in outer.names or (token in outer.params and isinstance(outer.params[token], Reference)):
        return Reference(resolve(token, outer))
    return evaluate(token, outer, graph)
