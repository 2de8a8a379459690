"""`share=REF`: a layer line or a block call that uses the parameters of an earlier one (contract
part 3, §3). No torch.

Expansion takes the option off the statement here and says what the line shares: a layer line
shares a labelled layer line of its own body (or of the top level), a call shares a labelled,
unrepeated call of the same block with the same arguments, and then each layer of its instance
shares the same layer of REF's. What needs shapes (the kind and arguments of a layer computed
from them, an input of the same shape) is checked by specc.infer, at the sharing line too.
"""

from __future__ import annotations

from .. import ir
from ..diagnostics import Span, error
from ..syntax import BlockDef, Option, Statement, Word
from .expansion import Expansion, Instance, Shared, noted, reference

HELP = "share=REF reuses the parameters of an earlier line of the same kind and arguments (`e2: enc from=b share=e1`)"


def split_share(st: Statement, inst: Instance, out: Expansion) -> tuple[Statement, Option | None]:
    """The statement without its `share=` option, and the option; E107 for a second one."""
    found = [o for o in st.options if o.name.text == "share"] if st.options else []
    if not found:
        return st, None
    out.diagnostics += [noted(error("E107", f"share given twice (first at column {found[0].name.column})",
                                    o.name.span, "a line shares the parameters of one earlier line"), inst)
                        for o in found[1:]]
    return st._replace(options=tuple(o for o in st.options if o.name.text != "share")), found[0]


def _span(option: Option) -> Span:
    return option.name.span._replace(end_line=option.value.line, end_column=option.value.end_column)


def _refused(option: Option, message: str, inst: Instance, out: Expansion, hint: str = HELP) -> None:
    out.diagnostics.append(noted(error("E123", message, _span(option), hint), inst))


def _resolved(option: Option, inst: Instance, out: Expansion) -> str | None:
    """The layer REF names, or None once reported (E112, E113, or a value that is no reference)."""
    word: Word = option.value
    if word.kind not in ("name", "unknown"):
        where = f"`{word.text}` is inside a block instance" if word.kind == "ref" else f"got `{word.text}`"
        _refused(option, f"share= names a labelled line above it, of this body or the top level: {where}", inst, out)
        return None
    name, problem = reference(word, inst, out)
    if problem is not None:
        out.diagnostics.append(noted(problem, inst))
    return name


def line_sharing(option: Option, name: str, repeated: bool, inst: Instance, out: Expansion) -> ir.Sharing | None:
    """What the layer line ``name`` shares (`share=REF`), or None after an error."""
    if repeated:
        _refused(option, "share= and repeat= on one line: the copies would be one layer applied again", inst, out,
                 "write the copies out, each with share=")
        return None
    ref = _resolved(option, inst, out)
    if ref is None:
        return None
    text = option.value.text
    if text in inst.scope.calls:
        _refused(option, f"cannot share `{text}` (line {inst.scope.everywhere[text]}): it is a block call, and a "
                 "layer line shares a layer line", inst, out, "share a block's instance from a call of the same block")
        return None
    if text not in inst.scope.everywhere or ref in out.input_names:
        where = "an input, not a layer" if ref in out.input_names else "not a line of this body" if inst.path else \
            "not a layer line of the top level"
        _refused(option, f"cannot share `{text}`: it is {where}", inst, out)
        return None
    owner = out.owners.get(ref, ref)
    out.owners[name] = owner
    return ir.Sharing(owner, text, inst.scope.everywhere[text], _span(option))


def call_sharing(option: Option, block: BlockDef, params: dict[str, Word], repeated: bool, path: str,
                 inst: Instance, out: Expansion) -> Shared | None:
    """What the instance at ``path`` of a call shares (`share=REF`), or None after an error."""
    name = block.name.text
    if repeated:
        _refused(option, "share= and repeat= on one call: the copies would be one instance applied again",
                 inst, out, "write the calls out, each with share=")
        return None
    if _resolved(option, inst, out) is None:
        return None
    text = option.value.text
    if text not in inst.scope.calls:
        line = inst.scope.everywhere.get(text)
        _refused(option, f"cannot share `{text}`{f' (line {line})' if line else ''}: it is not a call of a block, and "
                 f"a call of `{name}` shares an earlier call of `{name}`", inst, out)
        return None
    ref_path, line = inst.scope.calls[text], inst.scope.everywhere[text]
    if ref_path is None:
        _refused(option, f"cannot share `{text}` (line {line}): it is a call with repeat=", inst, out,
                 "write its copies as calls of their own, and share one of them")
        return None
    ref_block, ref_params = out.calls[ref_path]
    difference = _first_difference(name, params, ref_block, ref_params, block)
    if difference is not None:
        _refused(option, f"cannot share `{text}` (line {line}): {difference}", inst, out,
                 "shared weights need the same block called with the same arguments")
        return None
    return Shared(path, ref_path, ir.Sharing("", text, line, _span(option)))


def _first_difference(name: str, params: dict[str, Word], ref_block: str, ref_params: dict[str, Word],
                      block: BlockDef) -> str | None:
    if ref_block != name:
        return f"it is a call of `{ref_block}`, this a call of `{name}`"
    for p in block.params:
        mine, theirs = params.get(p.name.text), ref_params.get(p.name.text)
        if mine is None or theirs is None or {mine.kind, theirs.kind} & _FROM_SHAPES:
            continue  # a layer passed in, or a size read from one: compared by specc.infer, once known
        if (mine.kind, mine.value) != (theirs.kind, theirs.value):
            return f"{p.name.text}={mine.text} here, {p.name.text}={theirs.text} there"
    return None


_FROM_SHAPES = frozenset(("node", "dim", "expr"))  # a layer, `in.c`, `in.c*2`: each call resolves its own


def owner_in(shared: Shared, name: str, out: Expansion) -> ir.Sharing:
    """The sharing of the layer ``name`` of an instance that shares: the same layer of REF's instance."""
    mirror = shared.ref_path + name[len(shared.path):]
    owner = out.owners.get(mirror, mirror)
    out.owners[name] = owner
    return shared.sharing._replace(owner=owner)
