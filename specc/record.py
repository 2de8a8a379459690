"""Records: classes whose fields are declared by annotations, as a dataclass's are.

`specc check` builds its values from a few dozen such classes (the IR's layers,
LayerReport and the Analysis of specc.analysis). As dataclasses they cost a fifth of its
cold start: ``dataclasses`` imports inspect, ast and dis, and writes several
methods for every class (bench/RESULTS.md, issue 16). A record is the part of a
dataclass specc uses, with a named tuple's protocol (``_fields``, ``_replace``)::

    class Pool(Layer):
        receptive: ClassVar[str] = "window"  # a class attribute, not a field
        op: str                               # a field without a default: required
        padding: Padding = Uniform((0, 0))    # a default, shared by every instance

- Fields are slots. A subclass adds its own after its bases' and may give an
  inherited field a new default. Defaults are shared, so they are immutable
  (a tuple, a frozenset, ``MappingProxyType``), as every value of a record is
  by contract: nothing assigns to a record's field after ``__init__``.
- ``__init__`` takes the fields by keyword and, unless the class says
  ``kw_only=True``, in order too.
- ``_fields`` names every field in order; ``record._replace(**changes)`` is a
  copy with some fields changed.
- A record compares by identity unless the class says ``eq=True``: then by its
  fields, and it hashes by them.
- ``repr`` is ``Name(field=value, ...)``.
The options are class keywords, inherited: ``class Layer(Record, kw_only=True)``.

The check path's other values are named tuples, written as with
``typing.NamedTuple`` but made by this module's ``NamedTuple`` (type checkers see
typing's): the same classes, without the ForwardRef that typing compiles for
each field's annotation as the class is made (60 us a class, ~2 ms of a check's
cold start over the thirty it loads).
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

_REQUIRED = object()


@dataclass_transform(eq_default=False)  # type checkers see the ``__init__`` a record class gets
class RecordType(type):
    """The metaclass that turns a record class's annotations into slots and an ``__init__``."""

    # What __new__ gives every record class.
    _fields: tuple[str, ...]
    _defaults: dict[str, Any]
    _kw_only: bool

    def __new__(meta, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **options: bool) -> type:
        inherited = dict(getattr(bases[0], "_defaults", {})) if bases else {}
        own = [field for field, annotation in namespace.get("__annotations__", {}).items()
               if not _class_var(annotation)]
        defaults = {**inherited, **{field: namespace.pop(field, _REQUIRED) for field in own}}
        namespace["__slots__"] = tuple(field for field in own if field not in inherited)
        namespace["_defaults"] = defaults
        namespace["_fields"] = tuple(defaults)
        for option, value in options.items():
            namespace["_" + option] = value
        if options.get("eq"):
            namespace.update(__eq__=_equal, __hash__=_hash)
        cls = super().__new__(meta, name, bases, namespace)
        if defaults:  # mypy refuses `cls.__init__ = `
            _check_order(cls)
            setattr(cls, "__init__", _first_init(cls))  # noqa: B010
        return cls


def _class_var(annotation: object) -> bool:
    """Whether an annotation, as a string or as an object, is ``ClassVar[...]``."""
    return str(annotation).split("[", 1)[0].endswith("ClassVar")


def _check_order(cls: RecordType) -> None:
    """Fields taken in order, as Python allows them: no required field after a default."""
    fields, defaults = cls._fields, cls._defaults
    if not cls._kw_only:
        given = [field for field in fields if defaults[field] is not _REQUIRED]
        if given and any(defaults[field] is _REQUIRED for field in fields[fields.index(given[0]):]):
            raise TypeError(f"{cls.__name__}: a field without a default follows one with a default")


def _first_init(cls: RecordType) -> Any:
    """What a record class's ``__init__`` is until its first instance: it writes the real one
    (``_init``), puts it in its place and calls it. Writing one compiles a function, about
    80 us: most of the layer kinds a check loads never see an instance of theirs."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = _init(cls)
        setattr(cls, "__init__", init)  # noqa: B010
        init(self, *args, **kwargs)

    return __init__


def _init(cls: RecordType) -> Any:
    """``__init__`` for one record class, written out (as dataclasses and namedtuple
    do): a loop over the fields would make every layer of a check slower to build."""
    fields, defaults = cls._fields, cls._defaults
    keyword = cls._kw_only
    source = (f"def __init__(self, {'*, ' if keyword else ''}{', '.join(fields)}):\n"
              + "".join(f"    self.{field} = {field}\n" for field in fields))
    scope: dict[str, Any] = {}
    exec(source, scope)  # noqa: S102 -- the text is built from the class's own field names
    init = scope["__init__"]
    values = {field: value for field, value in defaults.items() if value is not _REQUIRED}
    if keyword:
        init.__kwdefaults__ = values
    else:
        init.__defaults__ = tuple(values.values())
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _equal(self: Record, other: object) -> bool:
    if type(other) is not type(self):
        return NotImplemented
    return self._values() == other._values()


def _hash(self: Record) -> int:
    return hash(self._values())


class Record(metaclass=RecordType, kw_only=False):
    """The base of every record class (see the module's docstring)."""

    _fields: ClassVar[tuple[str, ...]]
    _defaults: ClassVar[dict[str, Any]]
    _kw_only: ClassVar[bool]

    def _replace(self, **changes: Any) -> Any:
        """A copy of this record with the fields named in ``changes`` changed."""
        unknown = changes.keys() - self._defaults.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {min(unknown)!r}")
        values = {field: getattr(self, field) for field in self._fields}
        values.update(changes)
        return type(self)(**values)

    def _values(self) -> tuple:
        return tuple(getattr(self, field) for field in self._fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{field}={getattr(self, field)!r}" for field in self._fields)
        return f"{type(self).__name__}({fields})"


if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    class _NamedTupleType(type):
        """typing.NamedTuple's metaclass, less its checking of each annotation as a type: a class
        made with it is ``collections.namedtuple``'s, with the class body's methods, docstring
        and (unevaluated) annotations."""

        def __new__(meta, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
            if bases != (NamedTuple,):
                raise TypeError(f"{name}: a NamedTuple inherits from NamedTuple alone")
            annotations = namespace.get("__annotations__", {})
            defaults = [field for field in annotations if field in namespace]
            if defaults and list(annotations)[-len(defaults):] != defaults:
                raise TypeError(f"{name}: a field without a default follows one with a default")
            cls = collections.namedtuple(name, annotations, defaults=[namespace[field] for field in defaults],
                                         module=namespace["__module__"])
            cls.__annotations__ = annotations
            for key, value in namespace.items():
                if key in _NAMEDTUPLE_OWN:
                    raise AttributeError(f"{name}: a NamedTuple cannot overwrite {key}")
                if key not in ("__module__", "__annotations__") and key not in annotations:
                    setattr(cls, key, value)
            return cls

    _NAMEDTUPLE_OWN = frozenset({"__init__", "__new__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                                 "_make", "_replace", "_asdict", "_source"})
    NamedTuple = type.__new__(_NamedTupleType, "NamedTuple", (), {"__module__": __name__})
