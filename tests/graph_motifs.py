"""Block definitions for the graph generator, each with a drawer for its calls.

A motif is a block the course's networks use — an identity residual, a
projection residual whose stride is a parameter named `s` (the stride-
placement trap: `s=s` inside must take the call's value), an inception-style
concat of branches, a squeeze-excitation multiply, a fuse that takes a layer
as a parameter (U-Net's `up 256 d4.skip`), an inverted residual with a
depthwise conv, and a stage that calls two other blocks. Bodies are written
with parameters, `in`, `in.c*t`, `x.c/r` and labels; which calls are valid
is decided by expanding them (graph_lines.py), not by trusting the motif.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graph_lines import Block, Line
from hypothesis import strategies as st

Shape = tuple[int, ...]
# (current shape, visible references with their shapes) -> the call's (args, opts), or None
CallDrawer = Callable[[Callable, Shape, dict[str, Shape]], tuple[tuple[str, ...], tuple[tuple[str, str], ...]] | None]
WORD_ACTIVATIONS = ("relu", "relu6", "tanh", "silu", "hardswish")


@dataclass(frozen=True)
class Motif:
    block: Block
    draw_call: CallDrawer


def _args(draw, values: list[tuple[str, str | None]]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Values in parameter order (None: leave the default): a prefix positional, the rest by name."""
    given = [v is not None for _, v in values] + [False]
    positional = draw(st.integers(0, given.index(False)))
    named = [(k, v) for k, v in values[positional:] if v is not None]
    return tuple(v for _, v in values[:positional]), tuple(draw(st.permutations(named)))  # options in any order


def pick_ref(draw, refs: list) -> object:
    """One of ``refs`` (names, or (name, ...) tuples), favouring INSTANCE.LABEL names, which are rarer."""
    name = lambda ref: ref[0] if isinstance(ref, tuple) else ref  # noqa: E731
    return draw(st.sampled_from(sorted(refs) + [r for r in sorted(refs) if "." in name(r)] * 4))


def _maybe(draw, value: str) -> str | None:
    return value if draw(st.booleans()) else None


def residual(draw, name: str) -> Motif:
    kernel = draw(st.sampled_from(["1", "3", "3x3", "1x3", "k"]))
    with_act = draw(st.booleans())
    params = [("n", None)] + [("k", draw(st.sampled_from(["1", "3"])))] * (kernel == "k") + [("act", "relu")] * with_act
    body = (Line("conv", ("n", "1x1"), (("bias", "false"),)), Line("batchnorm"), Line("relu"),
            Line("conv", ("in.c", kernel), (("p", "same"), ("bias", "false")) + (("activation", "act"),) * with_act),
            Line("batchnorm"), Line("add", ("in",)), Line("relu"))

    def call(draw, shape, refs):
        values = [("n", str(draw(st.integers(1, 6))))]
        values += [("k", _maybe(draw, draw(st.sampled_from(["1", "3"]))))] * (kernel == "k")
        values += [("act", _maybe(draw, draw(st.sampled_from(WORD_ACTIVATIONS))))] * with_act
        return _args(draw, values)
    return Motif(Block(name, tuple(params), body), call)


def projection(draw, name: str) -> Motif:
    """The stride-placement trap: parameter `s`, used as `s=s` on the main conv and on the shortcut."""
    default = draw(st.sampled_from(["1", "2"]))
    shortcut_norm = draw(st.booleans())
    body = (Line("conv", ("n", "3x3"), (("s", "s"), ("p", "same"), ("bias", "false"))), Line("batchnorm"),
            Line("relu", label="main"),
            Line("conv", ("n", "1x1"), (("s", "s"), ("bias", "false")), source="in"),
            *(Line("batchnorm"),) * shortcut_norm, Line("add", ("main",)))

    def call(draw, shape, refs):
        s = draw(st.sampled_from([None, "1", "2", "2", "3"]))
        return _args(draw, [("n", str(draw(st.integers(1, 6)))), ("s", s)])
    return Motif(Block(name, (("n", None), ("s", default)), body, ("main",)), call)


def inception(draw, name: str) -> Motif:
    merged_above = draw(st.booleans())  # `concat b1` reads [the line above, b1]; else every branch is named
    body = [Line("conv", ("a", "1x1", "relu"), label="b1"),
            Line("conv", ("b", "1x1", "relu"), source="in"),
            Line("conv", ("b", "3x3"), (("p", "same"),), label="b2"),
            Line("maxpool", ("3x3",), (("s", "1"), ("p", "same")), source="in"),
            Line("conv", ("a", "1x1", "relu"), label=None if merged_above else "b3")]
    body.append(Line("concat", ("b1",)) if merged_above else Line("concat", ("b1", "b2", "b3")))
    if merged_above:  # b2 must still be read: fold it in with a second concat
        body.append(Line("concat", ("b2",)))

    def call(draw, shape, refs):
        return _args(draw, [("a", str(draw(st.integers(1, 4)))), ("b", str(draw(st.integers(1, 4))))])
    labels = ("b1", "b2") if merged_above else ("b1", "b2", "b3")
    return Motif(Block(name, (("a", None), ("b", None)), tuple(body), labels), call)


def squeeze_excitation(draw, name: str) -> Motif:
    own_conv = draw(st.booleans())
    x = "x" if own_conv else "in"
    order = draw(st.sampled_from(["one", "gate_last", "gate_first"]))
    body = [Line("conv", ("in.c", "3x3"), (("p", "same"),), label="x")] * own_conv + [
        Line("globalavgpool"),
        Line("conv", (f"{x}.c/r", "1x1", "relu")),
        Line("conv", (f"{x}.c", "1x1", "sigmoid"), label="g"),
        Line("multiply", {"one": (x,), "gate_last": (x, "g"), "gate_first": ("g", x)}[order])]

    def call(draw, shape, refs):
        if len(shape) != 3:
            return None
        r = draw(st.sampled_from([d for d in (1, 2, 3, 4) if shape[2] % d == 0]))
        return _args(draw, [("r", str(r))])
    return Motif(Block(name, (("r", None),), tuple(body), ("g",) + ("x",) * own_conv), call)


def fuse(draw, name: str) -> Motif:
    """U-Net's upsampling block: the layer to concatenate is a parameter (`up 256 d4.skip`)."""
    widen = draw(st.sampled_from([
        (Line("convtranspose", ("n", "2x2"), (("s", "2"),)), 2),
        (Line("convtranspose", ("n", "3x3"), (("s", "2"), ("p", "same"))), 2),
        (Line("upsample", ("2",)), 2),
        (Line("conv", ("n", "1x1", "relu")), 1)]))
    body = (widen[0], Line("concat", ("other",)), Line("conv", ("n", "3x3"), (("p", "same"), ("activation", "relu"))))
    factor = widen[1]

    def call(draw, shape, refs):
        if len(shape) != 3:
            return None
        fits = sorted(ref for ref, s in refs.items() if len(s) == 3 and s[:2] == (shape[0] * factor, shape[1] * factor))
        if not fits:
            return None
        return _args(draw, [("n", str(draw(st.integers(1, 6)))), ("other", pick_ref(draw, fits))])
    return Motif(Block(name, (("n", None), ("other", None)), body), call)


def inverted_residual(draw, name: str) -> Motif:
    """MobileNet v2's block: expand by t, depthwise 3x3 (stride s), linear 1x1 projection, add when it fits."""
    keep = draw(st.booleans())
    padding = draw(st.sampled_from(["same", "1"]))
    project = "in.c" if keep else "c"
    body = (Line("conv", ("in.c*t", "1x1"), (("bias", "false"),)), Line("batchnorm"), Line("relu6"),
            Line("dwconv", ("3",), (("s", "1" if keep else "s"), ("p", padding), ("bias", "false"))),
            Line("batchnorm"), Line("relu6"),
            Line("conv", (project, "1x1"), (("bias", "false"),)), Line("batchnorm"),
            *(Line("add", ("in",)),) * keep)
    params = (("t", "2"),) if keep else (("c", None), ("s", "1"), ("t", "2"))

    def call(draw, shape, refs):
        t = ("t", _maybe(draw, draw(st.sampled_from(["1", "2", "3"]))))
        if keep:
            return _args(draw, [t])
        s = ("s", _maybe(draw, draw(st.sampled_from(["1", "2"]))))
        return _args(draw, [("c", str(draw(st.integers(1, 6)))), s, t])
    return Motif(Block(name, params, body), call)


def stage(draw, name: str, down: Block, same: Block) -> Motif:
    """A block calling two others: a projection with stride s, then identity residuals repeated."""
    repeat = draw(st.sampled_from([None, 2]))
    body = (Line(down.name, ("n",), (("s", "s"),), label="down"), Line(same.name, ("n",), repeat=repeat))

    def call(draw, shape, refs):
        return _args(draw, [("n", str(draw(st.integers(1, 4)))), ("s", draw(st.sampled_from(["1", "2"])))])
    return Motif(Block(name, (("n", None), ("s", None)), body, ("down",)), call)


SIMPLE = {"res": residual, "proj": projection, "incep": inception, "se": squeeze_excitation, "fuse": fuse,
          "mb": inverted_residual}
