"""Scopes of the generated file: the network's class and one class per block.

A scope is the top level or one block instance. Its items are its own layers
and the block calls made in it (a call's `repeat=` copies are one item, an
``nn.Sequential``). Each scope becomes a ``forward`` that mirrors its lines: a
layer's emitter, or a call of the block's module. A value read later than the
next line is kept in a named local; a layer inside an instance that a line
outside it reads (`d4.skip`) is returned beside the block's output. Instances
whose generated class is the same share it; a block called on other shapes
gets a class of its own (its modules differ). No torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import ir
from ..infer import LayerReport
from .emitters import EMITTERS
from .module_text import commented, nchw
from .names import attribute_names, class_name, escape, identifier, statement_text
from .steps import Context, Step

Scope = str | None
INDENT = "    "


@dataclass
class Code:
    """A scope's share of its class: submodules (attribute, constructor, comment) and forward."""

    modules: list[tuple[str, str, str]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    kept_entry: str | None = None  # the variable the input is kept in, when read again later
    params: list[str] = field(default_factory=list)  # the variables of the inputs after the first
    result: str = "x"
    exports: list[str] = field(default_factory=list)  # the variables returned beside the result


class Tree:
    """The analysis grouped by scope: items, what each reads and gives, and the block classes."""

    def __init__(self, reports: tuple[LayerReport, ...], instances: tuple[ir.Instance, ...], lines: list[str]):
        self.lines = lines
        self.input_shape: ir.Shape | None = None  # the network's input, set by the caller
        self.report = {r.layer.name: r for r in reports}
        self.instance = {i.path: i for i in instances}
        self.items: dict[Scope, list[str]] = {None: []}  # scope -> item keys: a layer name or a call's group
        self.copies: dict[str, list[ir.Instance]] = {}
        self.placed: set[str] = set()  # instance paths already in their group's copies
        self.reads: dict[tuple[Scope, str], list[str]] = {}
        self.readers: dict[tuple[Scope, str], list[str]] = {}
        self.gives: dict[tuple[Scope, str], list[str]] = {}
        self.classes: dict[str, str] = {}  # class text with the name left out -> class name
        self.sources: list[str] = []
        for r in reports:
            self._place(r.layer)
        for r in reports:
            for name in r.layer.inputs:
                self._link(name, r.layer)
        self.weights = _params_under(reports, self.instance)  # instance path -> its parameters

    def _place(self, layer: ir.Layer) -> None:
        self.items.setdefault(layer.block, []).append(layer.name)
        path = layer.block
        while path is not None:
            inst = self.instance[path]
            if path in self.placed:
                return
            self.placed.add(path)
            copies = self.copies.get(inst.group)
            if copies is None:
                self.copies[inst.group] = [inst]
                self.items.setdefault(inst.parent, []).append(inst.group)
            else:
                copies.append(inst)
            path = inst.parent

    def key(self, name: str, scope: Scope) -> str:
        """The item of ``scope`` that makes the value ``name`` (the value must be inside it)."""
        if name == ir.INPUT:
            return name
        path = self.report[name].layer.block
        if path == scope:
            return name
        return self.instance[self.copy_of(name, scope)].group

    def copy_of(self, name: str, scope: Scope) -> str:
        """The path of the instance called in ``scope`` that holds the layer ``name``."""
        path = self.report[name].layer.block
        while self.instance[path].parent != scope:
            path = self.instance[path].parent
        return path

    def _link(self, name: str, reader: ir.Layer) -> None:
        """Record the read at the innermost scope holding both ends, where they are different items."""
        scope = reader.block
        while scope is not None and not name.startswith(scope + "."):
            # From outside this instance: the item of the instance that reads it takes it as an input.
            self.readers.setdefault((scope, name), []).append(self.key(reader.name, scope))
            scope = self.instance[scope].parent
        user, maker = self.key(reader.name, scope), self.key(name, scope)
        if user == maker:
            return  # between copies of one repeated call: chained inside it
        for table, item in ((self.reads, user), (self.gives, maker)):
            found = table.setdefault((scope, item), [])
            if name not in found:
                found.append(name)
        self.readers.setdefault((scope, name), []).append(user)

    def scope(self, scope: Scope, params: list[str], exports: tuple[str, ...] = ()) -> Code:
        """The submodules and forward of one scope, whose inputs are ``params`` (the entry first)
        and which returns ``exports`` beside its output."""
        return _Writer(self, scope, params).write(exports)

    def class_of(self, inst: ir.Instance, params: list[str], exports: list[str]) -> str:
        """The name of the class for one instance, written (once per distinct text) into ``sources``."""
        code = self.scope(inst.path, params, tuple(exports))
        entry = self.report.get(inst.entry)
        shape = entry.output if entry else self.input_shape
        text = _class_text(inst, code, shape)
        name = self.classes.get(text)
        if name is None:
            name = self._new_class_name(inst.block)
            self.classes[text] = name
            self.sources.append(text.replace("class CLASS(", f"class {name}(", 1))
        return name

    def _new_class_name(self, block: str) -> str:
        base, taken = class_name(block), set(self.classes.values())
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}{n}"
        return name


class _Writer:
    """Writes one scope: names its attributes and variables, emits its items in order."""

    def __init__(self, tree: Tree, scope: Scope, params: list[str]):
        self.tree, self.scope, self.params = tree, scope, params
        self.code = Code()
        keys = tree.items.get(scope, [])
        self.attrs = dict(zip(keys, attribute_names([self._local(k) for k in keys])))
        self.taken = set(self.attrs.values())
        self.locals = {"x"} | set(FORWARD)
        self.var: dict[str, str] = {}
        self.exports: set[str] = set()

    def _local(self, name: str) -> str:
        return name[len(self.scope) + 1:] if self.scope else name

    def write(self, exports: tuple[str, ...]) -> Code:
        self.exports = set(exports)  # read outside the scope (`d1.skip`): kept even if read here just once
        keys = self.tree.items.get(self.scope, [])
        first_reader = keys[0] if keys else None
        for index, param in enumerate(self.params):
            if index == 0:
                readers = self.tree.readers.get((self.scope, param), [])
                kept = any(r != first_reader for r in readers)
                self.var[param] = self._kept("x_in" if self.scope else "x_input") if kept else "x"
                self.code.kept_entry = self.var[param] if kept else None
            else:
                self.var[param] = self._kept(self._local(param) if self.scope and param.startswith(self.scope)
                                             else param.rsplit(".", 1)[-1])
        for index, key in enumerate(keys):
            following = keys[index + 1] if index + 1 < len(keys) else None
            if key in self.tree.report:
                self._layer(self.tree.report[key], following)
            else:
                self._call(key, following)
        last = keys[-1] if keys else None
        self.code.result = self._outputs(last)[0] if last else "x"
        self.code.params = [self.var[p] for p in self.params[1:]]
        self.code.exports = [self.var[v] for v in exports]
        return self.code

    def _kept(self, wanted: str) -> str:
        name = identifier(wanted.replace(".", "_"))
        while name in self.locals:
            name += "_"
        self.locals.add(name)
        return name

    def _target(self, value: str, key: str, following: str | None) -> str:
        readers = self.tree.readers.get((self.scope, value), [])
        if all(r == following for r in readers) and value not in self.exports:
            return "x"
        return self._kept(self._local(key))  # a call's output is named after the call

    def _outputs(self, key: str) -> list[str]:
        if key in self.tree.report:
            return [self.var.get(key, "x")]
        return [self.var.get(v, "x") for v in self._gives(key)]

    def _gives(self, key: str) -> list[str]:
        output = self.tree.copies[key][-1].output
        return [output, *(v for v in self.tree.gives.get((self.scope, key), []) if v != output)]

    def _note(self, span: ir.Span) -> str:
        return f"line {span.line}: {statement_text(self.tree.lines, span)}"

    def _layer(self, r: LayerReport, following: str | None) -> None:
        layer = r.layer
        inputs = tuple(self.var.get(name, "x") for name in layer.inputs)
        target = self._target(layer.name, layer.name, following)
        context = Context(self.attrs[layer.name], self._note(layer.span), self.taken, inputs, target)
        unit = EMITTERS[type(layer)](r, context)
        self.code.modules += unit.modules
        self.code.steps += unit.steps
        self.var[layer.name] = target

    def _call(self, key: str, following: str | None) -> None:
        copies, attr = self.tree.copies[key], self.attrs[key]
        gives = self._gives(key)
        extras = [v for v in self.tree.reads.get((self.scope, key), []) if v != copies[0].entry]
        exports = gives[1:]
        by_copy = self._by_copy(exports)
        classes = [self.tree.class_of(inst, [inst.entry, *extras], by_copy.get(inst.path, [])) for inst in copies]
        total = sum(self.tree.weights.get(c.path, 0) for c in copies)
        comment = f"line {copies[0].span.line}, {total:,} parameters" if total else f"line {copies[0].span.line}"
        sequential = len(copies) > 1 and not extras and not exports
        if len(copies) == 1:
            ctor = f"{classes[0]}()"
        elif len(set(classes)) == 1:  # identical copies: one class, N instances
            ctor = f"nn.Sequential(*[{classes[0]}() for _ in range({len(copies)})])"
        else:
            ctor = f"nn.Sequential({', '.join(f'{c}()' for c in classes)})"
        self.code.modules.append((attr, ctor, comment))
        note = self._note(copies[0].span)
        args = "".join(f", {self.var.get(v, 'x')}" for v in extras)
        entry = self.var.get(copies[0].entry, "x")
        if sequential or len(copies) == 1:
            targets = [self._target(gives[0], key, following), *(self._kept(self._local(v)) for v in exports)]
            shape = self.tree.report[copies[-1].output].output
            self.code.steps.append(Step(", ".join(targets), f"self.{attr}({entry}{args})", shape, note))
        else:
            targets = self._copies(copies, attr, entry, args, exports, by_copy, following, note)
        for value, variable in zip(gives, targets):
            self.var[value] = variable

    def _by_copy(self, exports: list[str]) -> dict[str, list[str]]:
        """The values read outside a call, grouped by the copy that makes them (in their order)."""
        grouped: dict[str, list[str]] = {}
        for value in exports:
            grouped.setdefault(self.tree.copy_of(value, self.scope), []).append(value)
        return grouped

    def _copies(self, copies: list[ir.Instance], attr: str, entry: str, args: str, exports: list[str],
                by_copy: dict[str, list[str]], following: str | None, note: str) -> list[str]:
        """Repeated copies that pass more than one tensor: each called on its own line."""
        found: dict[str, str] = {}
        current = entry
        for index, inst in enumerate(copies):
            mine = by_copy.get(inst.path, [])
            last = index == len(copies) - 1
            out = self._target(inst.output, copies[0].group, following) if last else "x"
            targets = [out, *(self._kept(self._local(v)) for v in mine)]
            found.update(zip(mine, targets[1:]))
            shape = self.tree.report[inst.output].output
            self.code.steps.append(Step(", ".join(targets), f"self.{attr}[{index}]({current}{args})", shape, note))
            current = out
        return [current, *(found[v] for v in exports)]


def _params_under(reports: tuple[LayerReport, ...], instances: dict[str, ir.Instance]) -> dict[str, int]:
    """Each instance's parameters, its nested instances' included: one pass over the layers, one over the
    instances, deepest first (so a child's total is complete before it is added to its parent's)."""
    total: dict[str, int] = {}
    for r in reports:
        if r.layer.block is not None and r.params:
            total[r.layer.block] = total.get(r.layer.block, 0) + r.params
    depth: dict[str | None, int] = {None: 0}
    for path in instances:
        _depth(path, instances, depth)
    for path in sorted(instances, key=depth.__getitem__, reverse=True):
        parent = instances[path].parent
        if parent is not None and path in total:
            total[parent] = total.get(parent, 0) + total[path]
    return total


def _depth(path: str, instances: dict[str, ir.Instance], depth: dict[str | None, int]) -> int:
    chain = []
    while path not in depth:
        chain.append(path)
        path = instances[path].parent
    known = depth[path]
    for step in reversed(chain):
        known += 1
        depth[step] = known
    return known


FORWARD = frozenset({"self", "torch", "nn", "x"})  # names forward uses: a kept value must not shadow them


def _class_text(inst: ir.Instance, code: Code, shape: ir.Shape | None) -> str:
    """A block instance's class, named CLASS (the caller names it)."""
    where = f"on an input of {nchw(shape)}" if shape else "on its input"
    lines = ["class CLASS(nn.Module):",
             f'{INDENT}"""The spec\'s block `{escape(inst.block)}`, {where}."""',
             "", f"{INDENT}def __init__(self) -> None:", f"{INDENT * 2}super().__init__()"]
    lines += [commented(f"{INDENT * 2}self.{attr} = {ctor}", note) for attr, ctor, note in code.modules]
    signature = ", ".join(f"{n}: torch.Tensor" for n in ["x", *code.params])
    returns = "torch.Tensor" if not code.exports else f"tuple[{', '.join(['torch.Tensor'] * (1 + len(code.exports)))}]"
    lines += ["", f"{INDENT}def forward(self, {signature}) -> {returns}:"]
    if code.kept_entry:
        lines.append(commented(f"{INDENT * 2}{code.kept_entry} = x", f"{nchw(shape)}  `in`, read again below"))
    lines += [commented(f"{INDENT * 2}{s.target} = {s.expr}", f"{nchw(s.shape)}  {s.note}") for s in code.steps]
    result = ", ".join([code.result, *code.exports])
    lines.append(f"{INDENT * 2}return {result}")
    return "\n".join(lines)
