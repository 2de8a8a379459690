"""What a layer kind declares: a Kind (its IR class, the keywords that write it, its
shape rule, its emitter, what its backward keeps, its family) and the Form of each
keyword. specc.kinds derives every per-pass table from these. No torch.

Every part of a Kind is required: a kind without a shape rule, an emitter or a
memory rule fails when its module is imported, not later in a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..ir import NOTHING, Layer
from ..record import NamedTuple

# The course's letters for a window's options: `conv 8 f=5 s=2 p=same`.
WINDOW_LETTERS = {"f": "kernel", "k": "kernel", "s": "stride", "p": "padding", "d": "dilation"}


class Form(NamedTuple):
    """What one keyword takes and what it lowers to: positional names, options, aliases,
    checkers (specc.kinds.values), the default-name prefix of unlabelled layers, and the IR
    class ``node`` it becomes (its Kind fills it in; None for the statements that are
    not layers: model, input, train)."""

    kind: str
    positional: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    options: Mapping[str, Callable] = NOTHING
    aliases: Mapping[str, str] = NOTHING  # option aliases: `s` for stride
    usage: str = ""
    bare_activation: bool = False  # a trailing `relu` means activation=relu
    prefix: str = ""  # unlabelled layers are named prefix1, prefix2, ... (default: the keyword)
    fixed: Mapping[str, Any] = NOTHING  # IR fields the keyword itself decides
    same_as: Mapping[str, str] = NOTHING  # an option left out takes another's value: a pooling's stride, its kernel
    synonyms: tuple[str, ...] = ()  # other keywords for it: `dense` for `fc`
    # An option that replaces required arguments and other options, and the class the line then builds:
    # a pooling's `out=` (adaptive pooling) stands for its kernel, stride, padding and round.
    instead: Mapping[str, tuple[str, ...]] = NOTHING
    variant: type[Layer] | None = None
    keyword: str = ""  # what a spec writes, where that is not ``kind``: an activation's name
    # Filled in by its Kind, from the IR class: a field, not a property, as lowering reads it per layer.
    node: type[Layer] | None = None
    merge: bool = False  # the positional arguments are references to the layers merged (node.merge)

    @property
    def word(self) -> str:
        """The keyword that writes it."""
        return self.keyword or self.kind


class Kind:
    """One layer kind: the IR class, the forms that write it, and what each pass does with it.

    - ``shape(layer, input_shape) -> Result`` (a merge's: ``shape(layer, *operands)``): output
      shape, parameters, buffers, MACs and E2xx (specc.infer);
    - ``emit(report, context) -> Unit``: its submodules and forward lines (specc.codegen);
    - ``keeps(report, saved, reads, final)``: what its backward keeps for training
      (specc.kinds.saved, specc.infer.training_memory);
    - ``same_tensor(report, final) -> bool``, optional: in training its output is its
      input's tensor (a view, the identity, a final activation not run), counted once;
    - ``family``: the module it lives in, which the drawing's colours and the docs group by.
    """

    __slots__ = ("node", "family", "forms", "shape", "emit", "keeps", "same_tensor")

    def __init__(self, node: type[Layer], *, family: str, forms: tuple[Form, ...], shape: Callable,
                 emit: Callable, keeps: Callable, same_tensor: Callable[[Any, str | None], bool] | None = None):
        # Each callable takes the kind's own class (a Dropout's rule reads its rate): typed per kind, not here.
        self.node = node
        self.family = family
        self.forms = tuple(form._replace(node=node, merge=node.merge) for form in forms)
        self.shape = shape
        self.emit = emit
        self.keeps = keeps
        self.same_tensor = same_tensor or _never

    def __repr__(self) -> str:
        return f"<Kind {self.node.__name__} ({self.family})>"


def _never(report: Any, final: str | None) -> bool:
    return False
