"""The symbol pass: which attribute holds each layer's module and which local
variable holds each layer's output in ``forward``. No torch.

A layer whose output only the next line reads stays in the running variable
``x`` (a plain stack is one chain of `x = …`). A layer read anywhere else (a
branch kept for a later merge) gets a named local: its attribute name, so the
generated forward reads like the spec. The pattern is Jinja's idtracking:
names are decided once, here, and the writers only ask.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from .names import attribute_names

RUNNING = "x"
KEPT_INPUT = "x_input"  # the network's input, when a later line reads it again
# Names forward already uses: a local must not shadow them.
FORWARD_NAMES = frozenset({RUNNING, KEPT_INPUT, "self", "torch", "nn"})


@dataclass(frozen=True)
class Symbols:
    attributes: dict[str, str]  # layer name -> attribute of the generated module
    targets: dict[str, str]  # layer name (or ir.INPUT) -> variable that holds its output

    def inputs(self, layer: ir.Layer) -> tuple[str, ...]:
        """The expressions of a layer's input tensors."""
        return tuple(self.targets[name] for name in layer.inputs)


def symbols(layers: tuple[ir.Layer, ...]) -> Symbols:
    attributes = dict(zip((layer.name for layer in layers), attribute_names(layers)))
    position = {ir.INPUT: -1} | {layer.name: index for index, layer in enumerate(layers)}
    readers: dict[str, set[int]] = {}
    for index, layer in enumerate(layers):
        for name in layer.inputs:
            readers.setdefault(name, set()).add(index)
    targets, locals_ = {}, set(FORWARD_NAMES)
    for name, index in position.items():
        if readers.get(name, set()) <= {index + 1}:
            targets[name] = RUNNING
        elif name == ir.INPUT:
            targets[name] = KEPT_INPUT
        else:
            local = attributes[name]
            while local in locals_:
                local += "_"
            locals_.add(local)
            targets[name] = local
    return Symbols(attributes, targets)
