"""Hypothesis strategies for valid graph specs, with an independent description.

``graph_specs()`` draws ``GraphSpec(text, input, layers)``: a spec in the
language of spec-graphs.md — blocks with parameters (graph_motifs.py) defined
before or after their calls, calls with positional and named arguments and
`repeat=`, layers with `repeat=`, labels, `from=`, references to `input`, to
labels and to `INSTANCE.LABEL` (`t3.main`, `t4.1.b2`), residual `add`s (with
1x1 projections when shapes differ), `concat`s of parallel branches,
squeeze-excitation `multiply`s, and section 5's layer kinds — and the
generator's own expansion of it into concrete layers (graph_lines.py), from
which graph_twin.py builds the torch twin. Valid by construction: every
statement is expanded as it is drawn, and one that would not check clean is
drawn again or replaced by a plain activation.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import graph_motifs as motifs
from graph_layers import Invalid, Shape
from graph_lines import Block, Graph, Line, Scope, expand
from hypothesis import strategies as st

PLAIN = ("conv", "conv", "conv", "dwconv", "convtranspose", "maxpool", "avgpool", "batchnorm", "norm", "activation",
         "dropout", "upsample", "zeropad")


@dataclass(frozen=True)
class GraphSpec:
    text: str
    input: Shape
    layers: tuple[dict, ...]


@dataclass
class State:
    """The top level drawn so far, expanded as it grows."""

    graph: Graph
    scope: Scope
    blocks: dict[str, motifs.Motif]
    lines: list[Line] = field(default_factory=list)
    previous: int = -1
    labels: int = 0

    @property
    def shape(self) -> Shape:
        return self.graph.shape(self.previous)

    def refs(self) -> dict[str, Shape]:
        return {name: self.graph.shape(node) for name, node in self.scope.names.items() if node != self.previous}

    def fresh(self) -> str:
        self.labels += 1
        return f"t{self.labels}"

    def current(self) -> str:
        """A name for the line above: its label (given now if it had none), or `input`."""
        if not self.lines:
            return "input"
        if self.lines[-1].label is None:
            self.lines[-1] = self.lines[-1].labelled(self.fresh())
            self.scope.names[self.lines[-1].label] = self.previous
        return self.lines[-1].label

    def attempt(self, lines: list[Line]) -> bool:
        """Expand ``lines`` after what is there; keep them only if they are valid."""
        graph, scope = Graph(self.graph.input, list(self.graph.layers)), copy.deepcopy(self.scope)
        blocks = {name: motif.block for name, motif in self.blocks.items()}
        try:
            previous = expand(tuple(lines), blocks, scope, graph, self.previous)
        except Invalid:
            return False
        self.graph, self.scope, self.previous = graph, scope, previous
        self.lines += lines
        return True


def _kernel(draw, choices=("1", "2", "3", "3x3", "1x3", "3x1", "2x2")) -> str:
    return draw(st.sampled_from(choices))


def _activation(draw) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    act = draw(st.sampled_from([None, None, "relu", "relu6", "sigmoid", "silu", "hardswish", "gelu", "tanh",
                                "hardsigmoid", "abs"]))
    if act is None:
        return (), ()
    return ((act,), ()) if draw(st.booleans()) else ((), (("activation", act),))


def _bias(draw) -> tuple[tuple[str, str], ...]:
    return (("bias", "false"),) if draw(st.booleans()) else ()


def _conv_like(draw, kind: str, shape: Shape) -> Line:
    stride = draw(st.sampled_from([None, "1", "2"]))
    opts = ((draw(st.sampled_from(["s", "stride"])), stride),) if stride else ()
    padding = draw(st.sampled_from([None, "same", "same", "1", "valid"]))
    opts += ((draw(st.sampled_from(["p", "padding"])), padding),) if padding else ()
    if kind == "dwconv":
        args = (_kernel(draw, ("1", "3", "3x3", "2")),)
        opts += (("multiplier", "2"),) if draw(st.integers(0, 3)) == 0 else ()
    else:
        groups = draw(st.sampled_from([g for g in (1, 1, 2, 3) if shape[2] % g == 0]))
        args = (str(groups * draw(st.integers(1, 6 // groups))), _kernel(draw))
        opts += (("groups", str(groups)),) if groups > 1 else ()
        opts += (("dilation", "2"),) if draw(st.integers(0, 5)) == 0 else ()
    words, act = _activation(draw)
    return Line(kind, args + words, opts + _bias(draw) + act)


def _transposed(draw) -> Line:
    stride = draw(st.sampled_from(["1", "2"]))
    padding = draw(st.sampled_from(["same", "0", "1"]))
    opts = (("s", stride), ("p", padding))
    if padding != "same" and stride == "2" and draw(st.booleans()):
        opts += (("output_padding", "1"),)
    kernel = _kernel(draw, ("2", "3", "2x2", "3x3") if padding != "same" or stride == "2" else ("1", "3", "3x3"))
    words, act = _activation(draw)
    return Line("convtranspose", (str(draw(st.integers(1, 6))), kernel) + words, opts + _bias(draw) + act)


@st.composite
def plain_line(draw, shape: Shape) -> Line:
    """One layer of any kind, not a merge; may be invalid for ``shape`` (the caller expands it to see)."""
    kind = draw(st.sampled_from(PLAIN))
    if kind in ("conv", "dwconv"):
        return _conv_like(draw, kind, shape)
    if kind == "convtranspose":
        return _transposed(draw)
    if kind in ("maxpool", "avgpool"):
        if draw(st.integers(0, 4)) == 0:  # adaptive pooling
            return Line(kind, (), (("out", draw(st.sampled_from(["1", "2", "3", "2x3", "5"]))),))
        opts = (("s", draw(st.sampled_from(["1", "2"]))),) if draw(st.booleans()) else ()
        padding = draw(st.sampled_from([None, "same", "1"]))
        opts += (("p", padding),) if padding else ()
        opts += (("round", "up"),) if padding != "same" and draw(st.booleans()) else ()
        return Line(kind, (_kernel(draw, ("2", "3", "2x2", "3x3")),), opts)
    if kind == "norm":
        norm = draw(st.sampled_from(["layernorm", "instancenorm", "groupnorm"]))
        groups = [str(g) for g in (1, 2, 3) if len(shape) == 3 and shape[2] % g == 0]
        return Line(norm, (draw(st.sampled_from(groups)),) if norm == "groupnorm" else ())
    if kind == "activation":
        return Line(draw(st.sampled_from(["relu", "relu6", "silu", "swish", "hardswish", "gelu", "tanh", "abs",
                                          "hardsigmoid"])))
    if kind == "dropout":
        return Line("dropout", (draw(st.sampled_from(["0.1", "0.5"])),))
    if kind == "upsample" and len(shape) == 3 and shape[0] * shape[1] <= 64:  # keep the maps small
        return Line("upsample", ("2",), draw(st.sampled_from([(), (("mode", "bilinear"),)])))
    if kind == "zeropad":
        return draw(st.sampled_from([Line("zeropad", ("1",)), Line("zeropad", ("1x2",)),
                                     Line("zeropad", ("1",), (("top", "2"),))]))  # a side overrides P
    return Line("batchnorm" if kind == "batchnorm" else "relu")


def _labelled(draw, state: State, line: Line) -> Line:
    return line.labelled(state.fresh()) if draw(st.integers(0, 3)) == 0 else line


def plain_statement(draw, state: State) -> list[Line]:
    line = draw(plain_line(state.shape))
    if draw(st.integers(0, 3)) == 0:
        line = Line(line.kind, line.args, line.opts, repeat=draw(st.integers(1, 3)))
    return [_labelled(draw, state, line)]


def call_statement(draw, state: State) -> list[Line]:
    name = draw(st.sampled_from(sorted(state.blocks)))
    drawn = state.blocks[name].draw_call(draw, state.shape, state.refs())
    if drawn is None:
        return []
    repeat = draw(st.sampled_from([None, None, 1, 2, 3]))
    label = state.fresh() if draw(st.booleans()) else None  # a label makes INSTANCE.LABEL reachable
    return [Line(name, drawn[0], drawn[1], label=label, repeat=repeat)]


def branch_call_statement(draw, state: State) -> list[Line]:
    """A block call on a parallel branch (`from=` an earlier layer), merged with the line above."""
    shape = state.shape
    fits = sorted(ref for ref, s in state.refs().items() if len(s) == 3 and len(shape) == 3 and s[:2] == shape[:2])
    if not fits or not state.blocks:
        return []
    source = motifs.pick_ref(draw, fits)
    name = draw(st.sampled_from(sorted(state.blocks)))
    drawn = state.blocks[name].draw_call(draw, state.refs()[source], state.refs())
    if drawn is None:
        return []
    here = state.current()
    merge = draw(st.sampled_from(["add", "concat"]))
    return [Line(name, drawn[0], drawn[1], source=source), Line(merge, (here,))]


def add_statement(draw, state: State) -> list[Line]:
    """A residual add: onto an earlier layer of the same shape, through a 1x1 projection, or a new branch."""
    shape, refs = state.shape, state.refs()
    same = sorted(ref for ref, s in refs.items() if s == shape)
    strided = sorted((ref, k) for ref, s in refs.items() for k in (1, 2, 3)
                     if len(s) == 3 and len(shape) == 3 and s != shape and (-(-s[0] // k), -(-s[1] // k)) == shape[:2])
    dotted = any("." in ref for ref in same)  # INSTANCE.LABEL is rarely of the right shape: take it when it is
    route = draw(st.sampled_from(["same"] * (bool(same) + 3 * dotted) + ["project"] * bool(strided) + ["branch"]))
    if route == "same":
        ref = motifs.pick_ref(draw, same)
        merge = draw(st.sampled_from(["add", "add", "subtract"]))  # subtract: the same shapes, the difference
        return [Line(merge, (ref,))] if draw(st.booleans()) else [Line(merge, (ref, state.current()))]
    here = state.current()
    if route == "project":
        ref, k = motifs.pick_ref(draw, strided)
        stride = (("s", str(k)),) if k > 1 else ()
        return [Line("conv", (str(shape[2]), "1x1"), stride + (("bias", "false"),), source=ref), Line("add", (here,))]
    return [Line("conv", (f"{here}.c", "3x3"), (("p", "same"),)), Line("batchnorm"), Line("add", (here,))]


def concat_statement(draw, state: State) -> list[Line]:
    """A concat with earlier layers of the same H and W, or of parallel branches read with `from=`."""
    shape = state.shape
    fits = sorted(ref for ref, s in state.refs().items() if len(s) == 3 and s[:2] == shape[:2])
    if fits and (draw(st.booleans()) or any("." in ref for ref in fits)):
        picked = sorted({motifs.pick_ref(draw, fits) for _ in range(draw(st.integers(1, 2)))})
        return [Line("concat", tuple(picked))] if draw(st.booleans()) else [Line("concat", (state.current(), *picked))]
    here, a, b, c = state.current(), state.fresh(), state.fresh(), state.fresh()
    return [Line("conv", (str(draw(st.integers(1, 4))), "1x1", "relu"), label=a),
            Line("conv", (str(draw(st.integers(1, 4))), "3x3"), (("p", "same"),), label=b, source=here),
            Line("maxpool", ("3",), (("s", "1"), ("p", "same")), label=c, source=here),
            Line("concat", (a, b, c)) if draw(st.booleans()) else Line("concat", (here, a, b, c))]


def multiply_statement(draw, state: State) -> list[Line]:
    """Squeeze-excitation: a 1x1xC gate from the global average, multiplied into HxWxC."""
    here = state.current()
    squeeze = f"{here}.c/2" if state.shape[-1] % 2 == 0 else "2"
    return [Line("globalavgpool"), Line("conv", (squeeze, "1x1", "relu")),
            Line("conv", (f"{here}.c", "1x1", "sigmoid")), Line("multiply", (here,))]


STATEMENTS = {"plain": plain_statement, "call": call_statement, "branch_call": branch_call_statement,
              "add": add_statement, "concat": concat_statement, "multiply": multiply_statement}


@st.composite
def _motifs(draw) -> dict[str, motifs.Motif]:
    kinds = draw(st.lists(st.sampled_from(sorted(motifs.SIMPLE)), max_size=3))
    nested = draw(st.integers(0, 3)) == 0  # a block calling blocks: needs a projection and a residual
    kinds += ["proj", "res"] * nested
    drawn = {f"{kind}{i}": motifs.SIMPLE[kind](draw, f"{kind}{i}") for i, kind in enumerate(kinds)}
    if nested:
        drawn["stage9"] = motifs.stage(draw, "stage9", drawn[f"proj{len(kinds) - 2}"].block,
                                       drawn[f"res{len(kinds) - 1}"].block)
    return drawn


def _used(lines: list[Line], blocks: dict[str, Block]) -> list[Block]:
    """The blocks the top level calls, with the blocks they call (a block nobody calls is a lint warning)."""
    names = {line.kind for line in lines if line.kind in blocks}
    for name in list(names):
        names |= {line.kind for line in blocks[name].body if line.kind in blocks}
    return [blocks[name] for name in sorted(names)]


@st.composite
def graph_specs(draw, max_statements: int = 7) -> GraphSpec:
    shape = (draw(st.integers(3, 10)), draw(st.integers(3, 10)), draw(st.integers(1, 4)))
    state = State(Graph(shape), Scope({}, {"input": -1}), draw(_motifs()))
    kinds = ["plain"] * 3 + ["add", "concat", "multiply"] + ["call", "call", "branch_call"] * bool(state.blocks)
    for _ in range(draw(st.integers(1, max_statements))):
        lines = STATEMENTS[draw(st.sampled_from(kinds))](draw, state)
        if not (lines and state.attempt(lines)):
            state.attempt([Line("relu")])
    if len(state.shape) == 3 and draw(st.integers(0, 3)) == 0:
        state.attempt([Line("globalavgpool"), Line("fc", (str(draw(st.integers(1, 10))),))])
    blocks = {name: motif.block for name, motif in state.blocks.items()}
    used = _used(state.lines, blocks)
    before = [block for block in used if draw(st.booleans())]  # definitions may follow their use
    text = [f"model graph_{draw(st.integers(0, 99))}"] * draw(st.booleans()) + ["input " + "x".join(map(str, shape))]
    text += [block.text() for block in before]
    text += [draw(st.sampled_from(["", "  ", "\t"])) + line.text() for line in state.lines]
    text += [block.text() for block in used if block not in before]
    graph = Graph(shape)
    expand(tuple(state.lines), blocks, Scope({}, {"input": -1}), graph, -1)
    return GraphSpec("\n".join(text) + "\n", shape, tuple(graph.layers))
