"""Every layer kind, one module per family. No torch.

A family module (``conv``, ``pool``, ``dense``, ``norm``, ``resize``, ``activation``,
``dropout``, ``merge``, ``invalid``) holds its kinds' IR classes with their traits,
the statement forms that write them, their shape rules, their emitters and what
their backward keeps, each kind declared once as a Kind (specc.kinds.base). This
registry derives every table the passes and the tools read from FAMILIES: the
statement table and its keyword aliases (specc.lower.statements, specc.lower), the shape rules
(specc.infer), the emitters (specc.codegen), what each kind keeps (specc.infer.training_memory), the
merges (specc.lower.scope, specc.lsp, specc.exporting), the activations, and the family of
each keyword (the drawing's colours). tests/test_tables.py fails when a derived list
misses a kind.

A new kind is a class and a Kind in its family's module (a new family is a module
and a line in FAMILIES), its torch twin in tests/, and a line in docs/language.md.
The helpers the families share: ``geometry`` (window formulas, Result, axis names),
``flooring`` (where a map lost rows, for concat's message), ``emitting`` (Step, Unit,
Context and the emitters' helpers) and ``saved`` (the training-memory ledger).
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import Layer
from . import activation, conv, dense, dropout, invalid, merge, norm, pool, resize
from .activation import Activation
from .base import Form, Kind
from .conv import Conv, ConvTranspose, DepthwiseConv
from .dense import Dense, Flatten, Reshape
from .dropout import Dropout, DropPath
from .invalid import Invalid
from .merge import Add, Concat, Merge, Multiply, Subtract
from .norm import BatchNorm, LayerScale, Norm
from .pool import AdaptivePool, GlobalPool, Pool
from .resize import Upsample, ZeroPad

FAMILIES = (conv, pool, dense, norm, resize, activation, dropout, merge, invalid)

KINDS: dict[type[Layer], Kind] = {kind.node: kind for family in FAMILIES for kind in family.KINDS}

# How the keywords are listed to a user (E101's hint, completion, the report schema): the order
# the language grew in. A keyword not named here follows them, in FAMILIES order; the
# activations come last, in the order of their table.
LISTED = ("conv", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "flatten", "fc", "batchnorm", "dropout",
          "add", "concat", "multiply", "convtranspose", "dwconv", "upsample", "zeropad", "layernorm",
          "instancenorm", "groupnorm", "activation")


def _place(form: Form) -> tuple[bool, int]:
    return form.word in activation.NAMES, LISTED.index(form.word) if form.word in LISTED else len(LISTED)


# keyword -> Form, for every keyword that writes a layer
STATEMENTS: dict[str, Form] = {form.word: form for form in sorted(
    (form for kind in KINDS.values() for form in kind.forms), key=_place)}
KEYWORD_ALIASES: dict[str, str] = {synonym: word for word, form in STATEMENTS.items() for synonym in form.synonyms}
SHAPE_RULES: dict[type[Layer], Callable] = {node: kind.shape for node, kind in KINDS.items()}
EMITTERS: dict[type[Layer], Callable] = {node: kind.emit for node, kind in KINDS.items()}
# Classes the generated file defines where torch has no module (Abs, Reshape, LayerNorm2d, LayerScale, DropPath),
# by name; specc.codegen writes those a spec's code uses.
HELPERS: dict[str, str] = {name: text for family in FAMILIES for name, text in getattr(family, "HELPERS", {}).items()}
MERGES = tuple(word for word, form in STATEMENTS.items() if form.merge)
ACTIVATIONS = activation.NAMES
ACTIVATION_ALIASES = activation.ALIASES
# keyword, alias or kind ("activation") -> its family
FAMILY: dict[str, str] = {word: kind.family for kind in KINDS.values() for form in kind.forms
                          for word in (form.word, form.kind, *form.synonyms)}

__all__ = ["ACTIVATIONS", "ACTIVATION_ALIASES", "EMITTERS", "FAMILIES", "FAMILY", "HELPERS", "KEYWORD_ALIASES",
           "KINDS", "LISTED", "MERGES", "SHAPE_RULES", "STATEMENTS", "Activation", "AdaptivePool", "Add", "BatchNorm",
           "Concat", "Conv", "ConvTranspose", "Dense", "DepthwiseConv", "DropPath", "Dropout", "Flatten", "Form",
           "GlobalPool", "Invalid", "Kind", "LayerScale", "Merge", "Multiply", "Norm", "Pool", "Reshape", "Subtract",
           "Upsample", "ZeroPad"]
