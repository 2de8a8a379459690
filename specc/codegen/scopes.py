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

import functools

from .. import ir
from ..analysis import LayerReport, reaching
from ..diagnostics import Span
from ..kinds import EMITTERS
from ..kinds.emitting import Context, Step, known
from .formatting import class_header
from .graph import params_under
from .module_text import block_class_body
from .names import attribute_names, class_name, extra_name, identifier, statement_text
from .steps import Code, Remark

Scope = str | None


class Tree:
    """The analysis grouped by scope: items, what each reads and gives, and the block classes."""

    def __init__(self, reports: tuple[LayerReport, ...], instances: tuple[ir.Instance, ...], lines: list[str],
                 model_class: str = "", inputs: dict[str, ir.Shape | None] | None = None,
                 returned: tuple[str, ...] = ()):
        self.lines = lines
        # The values the network returns where an `output` line names others than the last line; () otherwise.
        self.returned = returned
        self.model_class = model_class  # the network's own class: no block class may take its name
        self.input_shape: ir.Shape | None = None  # the network's input, set by the caller
        self.inputs = inputs or {ir.INPUT: None}  # every input of the network: name -> shape
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
        # A layer that reaches no output (the network's, or that of a block instance, which its class
        # returns) is never computed: what it reads need not be kept for it, or returned by an instance.
        outputs = [*(i.output for i in instances), *(returned or (r.layer.name for r in reports[-1:]))]
        computable = reaching(reports, outputs)
        self.read = {name for r in reports for name in r.layer.inputs}  # read by some layer, computed or not
        for r in reports:
            if r.layer.name in computable:
                for name in r.layer.inputs:
                    self._link(name, r.layer)
        for name in returned:  # returned by forward: read at the top level, after every line
            self._link(name, None)
        self.weights = params_under(reports, self.instance)  # instance path -> its parameters
        self.sharers: dict[str, list[ir.Instance]] = {}  # instance path -> the calls that share it (`share=`)
        for inst in instances:
            if inst.shares is not None:
                self.sharers.setdefault(inst.shares, []).append(inst)

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
        if name in self.inputs:
            return name
        path = self.report[name].layer.block
        if path == scope:
            return name
        return self.instance[self.copy_of(name, scope)].group

    def copy_of(self, name: str, scope: Scope) -> str:
        """The path of the instance called in ``scope`` that holds the layer ``name``."""
        path = self.report[name].layer.block
        assert path is not None  # a layer of a block called in ``scope``: not one of the top level
        while (parent := self.instance[path].parent) != scope:
            assert parent is not None  # the walk up from the layer meets ``scope`` before the top level
            path = parent
        return path

    def _link(self, name: str, reader: ir.Layer | None) -> None:
        """Record the read at the innermost scope holding both ends, where they are different items.
        A reader None is the network's return (an output the `output` line names)."""
        scope = reader.block if reader is not None else None
        while scope is not None and not name.startswith(scope + "."):
            # From outside this instance: the item of the instance that reads it takes it as an input.
            self.readers.setdefault((scope, name), []).append(self.key(reader.name if reader else name, scope))
            scope = self.instance[scope].parent
        user, maker = self.key(reader.name, scope) if reader is not None else RETURN, self.key(name, scope)
        if user == maker:
            return  # between copies of one repeated call: chained inside it
        for table, item in ((self.reads, user), (self.gives, maker)):
            found = table.setdefault((scope, item), [])
            if name not in found:
                found.append(name)
        self.readers.setdefault((scope, name), []).append(user)
        self._given_up(name, scope)

    def _given_up(self, name: str, scope: Scope) -> None:
        """A value read from an instance nested in the one ``scope`` calls (`o.i.s`): each instance
        between them gives it to its caller, beside its output."""
        inner = self.report[name].layer.block if name in self.report else None
        while inner is not None and inner != scope and (parent := self.instance[inner].parent) != scope:
            assert parent is not None  # the walk up from the layer meets ``scope`` before the top level
            found = self.gives.setdefault((parent, self.key(name, parent)), [])
            if name not in found:
                found.append(name)
            inner = parent

    def scope(self, scope: Scope, params: list[str], exports: tuple[str, ...] = ()) -> Code:
        """The submodules and forward of one scope, whose inputs are ``params`` (the entry first)
        and which returns ``exports`` beside its output."""
        return _Writer(self, scope, params).write(exports)

    def class_of(self, inst: ir.Instance, params: list[str], exports: list[str]) -> str:
        """The name of the class for one instance, written (once per distinct text) into ``sources``."""
        code = _Writer(self, inst.path, params).write(tuple(exports))  # not through scope(): a frame less a level
        entry = self.report.get(inst.entry)
        shape = entry.output if entry else self.inputs.get(inst.entry) or self.input_shape
        text = block_class_body(inst.block, code, shape)
        name = self.classes.get(text)
        if name is None:
            name = self._new_class_name(inst.block)
            self.classes[text] = name
            self.sources.append("\n".join([*class_header(name, "nn.Module"), text]))
        return name

    def _new_class_name(self, block: str) -> str:
        base, taken = class_name(block), {*self.classes.values(), self.model_class}
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
        self.extra_name = functools.partial(extra_name, taken=self.taken)  # a helper module's name (Context)
        self.locals = {"x"} | set(FORWARD)
        self.var: dict[str, str] = {}
        self.exports: set[str] = set()
        self.needed: set[str] = set()  # the items the scope's output depends on

    def _local(self, name: str) -> str:
        return name[len(self.scope) + 1:] if self.scope else name

    def write(self, exports: tuple[str, ...]) -> Code:
        self.exports = set(exports)  # read outside the scope (`d1.skip`): kept even if read here just once
        keys = self.tree.items.get(self.scope, [])
        first_reader = keys[0] if keys else None
        several = self.scope is None and len(self.params) > 1  # the network's inputs: each named after its label
        for index, param in enumerate(self.params):
            if index == 0 and not several:
                readers = self.tree.readers.get((self.scope, param), [])
                kept = any(r != first_reader for r in readers)
                self.var[param] = self._kept("x_in" if self.scope else "x_input") if kept else "x"
                self.code.kept_entry = self.var[param] if kept else None
            else:
                self.var[param] = self._kept(self._local(param) if self.scope and param.startswith(self.scope)
                                             else param.rsplit(".", 1)[-1])
        self.needed = self._needed(keys, exports)
        for index, key in enumerate(keys):
            following = keys[index + 1] if index + 1 < len(keys) else None
            if key not in self.needed:
                self._idle(key)
            elif key in self.tree.report:
                self._layer(self.tree.report[key], following)
            else:
                self._call(key, following)
        last = keys[-1] if keys else None
        self.code.result = self._outputs(last)[0] if last else "x"
        self.code.params = [self.var[p] for p in self.params[0 if several else 1:]]
        self.code.exports = [self.var[v] for v in exports]
        return self.code

    def _needed(self, keys: list[str], exports: tuple[str, ...]) -> set[str]:
        """The items the scope's output and ``exports`` depend on, found from the last item back
        (the network's outputs alone, where an `output` line names them: Tree.returned)."""
        last = set() if self.scope is None and self.tree.returned else set(keys[-1:])
        needed = {self.tree.key(v, self.scope) for v in exports} | last
        for key in reversed(keys):
            if key in needed:
                needed.update(self.tree.key(v, self.scope) for v in self._reads(key) if self._inside(v))
        return needed

    def _reads(self, key: str) -> tuple[str, ...]:
        if key in self.tree.report:
            return self.tree.report[key].layer.inputs
        return (self.tree.copies[key][0].entry, *self.tree.reads.get((self.scope, key), []))

    def _inside(self, value: str) -> bool:
        return value not in self.tree.inputs and (self.scope is None or value.startswith(self.scope + "."))

    def _idle(self, key: str) -> None:
        """An item the output does not depend on: its modules are built (the parameters are the
        spec's), and forward says why it does not call them."""
        if key in self.tree.report:
            r = self.tree.report[key]
            inputs = tuple(self.var.get(name, "x") for name in r.layer.inputs)
            context = Context(self._attr(r.layer), self._note(r.layer.span), self.extra_name, inputs, "x")
            self.code.modules += self._own(r.layer, EMITTERS[type(r.layer)](r, context).modules)
            span, gives = r.layer.span, [key]
        elif self._ref(key) is not None:  # a call that shares: REF's module is built
            span = self.tree.copies[key][0].span
            gives = [self.tree.copies[key][-1].output, *self.tree.gives.get((self.scope, key), [])]
        else:
            self.code.modules.append(self._call_module(key)[0])
            span = self.tree.copies[key][0].span
            gives = [self.tree.copies[key][-1].output, *self.tree.gives.get((self.scope, key), [])]
        why = "is read only by layers that are not computed" if any(v in self.tree.read for v in gives) \
            else "is read by nothing (W104)"
        self.code.steps.append(Remark(f"{self._local(key)} {why}: built, not computed", self._note(span)))

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
        """A call's output, then the values inside it that the scope's output depends on (those of
        the calls that share it too, `share=`: its module gives them all)."""
        output = self.tree.copies[key][-1].output
        found = [output, *(v for v in self.tree.gives.get((self.scope, key), []) if v != output and self._wanted(v))]
        path = self.tree.copies[key][0].path
        for sharer in self.tree.sharers.get(path, ()):
            for v in self.tree.gives.get((self.scope, sharer.group), []):
                mirror = path + v[len(sharer.path):]
                if v != sharer.output and self._wanted(v) and mirror not in found:
                    found.append(mirror)
        return found

    def _wanted(self, value: str) -> bool:
        readers = self.tree.readers.get((self.scope, value), [])
        return value in self.exports or any(r in self.needed for r in readers)

    def _note(self, span: Span) -> str:
        return f"line {span.line}: {statement_text(self.tree.lines, span)}"

    def _attr(self, layer: ir.Layer) -> str:
        """The attribute of the layer's module: its owner's where it shares one (`share=`)."""
        return self.attrs[layer.name if layer.shares is None else layer.shares.owner]

    def _own(self, layer: ir.Layer, modules: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        """The modules a layer builds: none of those it shares (its helpers, a padding, are its own)."""
        if layer.shares is None:
            return modules
        shared = self._attr(layer)
        return [m for m in modules if m[0] != shared]

    def _ref(self, key: str) -> str | None:
        """The item of the call REF whose module a call uses (`share=REF`), or None."""
        if key in self.tree.report:
            return None
        shares = self.tree.copies[key][0].shares
        return None if shares is None else self.tree.instance[shares].group

    def _layer(self, r: LayerReport, following: str | None) -> None:
        layer = r.layer
        inputs = tuple(self.var.get(name, "x") for name in layer.inputs)
        target = self._target(layer.name, layer.name, following)
        context = Context(self._attr(layer), self._note(layer.span), self.extra_name, inputs, target)
        unit = EMITTERS[type(layer)](r, context)
        self.code.modules += self._own(layer, unit.modules)
        self.code.steps += unit.steps
        self.var[layer.name] = target

    def _call_module(self, key: str) -> tuple[tuple[str, str, str], list[str], dict[str, list[str]]]:
        """A call's submodule (attribute, constructor, comment), the values it reads besides its
        entry, and those it gives to lines after it, by copy."""
        copies = self.tree.copies[key]
        extras = [v for v in self.tree.reads.get((self.scope, key), []) if v != copies[0].entry]
        by_copy = self._by_copy(self._gives(key)[1:])
        classes = []
        for inst in copies:  # a loop, not a comprehension: each nesting level costs a frame less
            classes.append(self.tree.class_of(inst, [inst.entry, *extras], by_copy.get(inst.path, [])))
        total = sum(self.tree.weights.get(c.path, 0) for c in copies)
        comment = f"line {copies[0].span.line}, {total:,} parameters" if total else f"line {copies[0].span.line}"
        if len(copies) == 1:
            ctor = f"{classes[0]}()"
        elif len(set(classes)) == 1:  # identical copies: one class, N instances
            ctor = f"nn.Sequential(*[{classes[0]}() for _ in range({len(copies)})])"
        else:
            ctor = f"nn.Sequential({', '.join(f'{c}()' for c in classes)})"
        return (self.attrs[key], ctor, comment), extras, by_copy

    def _call(self, key: str, following: str | None) -> None:
        ref = self._ref(key)
        if ref is not None:
            return self._shared_call(key, ref, following)
        copies, attr = self.tree.copies[key], self.attrs[key]
        gives = self._gives(key)
        exports = gives[1:]
        module, extras, by_copy = self._call_module(key)
        sequential = len(copies) > 1 and not extras and not exports
        self.code.modules.append(module)
        note = self._note(copies[0].span)
        args = "".join(f", {self.var.get(v, 'x')}" for v in extras)
        entry = self.var.get(copies[0].entry, "x")
        called = self._called_copies(key, copies, gives[0], by_copy)
        if called < len(copies):  # only values inside the first copies are read: the rest are not computed
            targets = self._copies(copies[:called], attr, entry, args, exports, by_copy, following, note)
            rest = f"{attr}[{called}]" if called == len(copies) - 1 else f"{attr}[{called}:]"
            self.code.steps.append(Remark(f"{rest} is read by nothing (W104): built, not computed", note))
            gives, targets = gives[1:], targets[1:]
        elif sequential or len(copies) == 1:
            targets = [self._target(gives[0], key, following), *(self._kept(self._local(v)) for v in exports)]
            shape = known(self.tree.report[copies[-1].output].output)
            self.code.steps.append(Step(", ".join(targets), f"self.{attr}({entry}{args})", shape, note))
        else:
            targets = self._copies(copies, attr, entry, args, exports, by_copy, following, note)
        for value, variable in zip(gives, targets):
            self.var[value] = variable

    def _called_copies(self, key: str, copies: list[ir.Instance], output: str, by_copy: dict[str, list[str]]) -> int:
        """How many of a repeated call's copies forward calls: all when the call's output is read,
        returned or the scope's own; else up to the last copy whose values are read."""
        keys = self.tree.items.get(self.scope, [])
        readers = self.tree.readers.get((self.scope, output), [])
        if len(copies) == 1 or self._wanted(output) or RETURN in readers \
                or (key == keys[-1] and not (self.scope is None and self.tree.returned)):
            return len(copies)
        return 1 + max(index for index, inst in enumerate(copies) if by_copy.get(inst.path))
    def _shared_call(self, key: str, ref: str, following: str | None) -> None:
        """A call that shares REF's instance (`share=REF`): REF's module called on this call's inputs; it
        gives what REF's gives, each value named as the same layer of this instance."""
        inst, theirs = self.tree.copies[key][0], self.tree.copies[ref][0]
        gives = [inst.path + v[len(theirs.path):] for v in self._gives(ref)]
        extras = [v for v in self.tree.reads.get((self.scope, key), []) if v != inst.entry]
        args = "".join(f", {self.var.get(v, 'x')}" for v in extras)
        targets = [self._target(gives[0], key, following), *(self._kept(self._local(v)) for v in gives[1:])]
        shape = known(self.tree.report[inst.output].output)
        self.code.steps.append(Step(", ".join(targets), f"self.{self.attrs[ref]}({self.var.get(inst.entry, 'x')}"
                                    f"{args})", shape, self._note(inst.span)))
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
            shape = known(self.tree.report[inst.output].output)
            self.code.steps.append(Step(", ".join(targets), f"self.{attr}[{index}]({current}{args})", shape, note))
            current = out
        return [current, *(found[v] for v in exports)]


RETURN = "\0return"  # the reader of a value forward returns (Tree.readers): never an item's key
FORWARD = frozenset({"self", "torch", "nn", "x"})  # names forward uses: a kept value must not shadow them
