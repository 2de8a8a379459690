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
"""

from __future__ import annotations

from typing import Any, ClassVar, dataclass_transform

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
        if defaults:  # a class's __init__, set once as it is made (mypy refuses `cls.__init__ = `)
            setattr(cls, "__init__", _init(cls))  # noqa: B010
        return cls


def _class_var(annotation: object) -> bool:
    """Whether an annotation, as a string or as an object, is ``ClassVar[...]``."""
    return str(annotation).split("[", 1)[0].endswith("ClassVar")


def _init(cls: RecordType) -> Any:
    """``__init__`` for one record class, written out (as dataclasses and namedtuple
    do): a loop over the fields would make every layer of a check slower to build."""
    fields, defaults = cls._fields, cls._defaults
    keyword = cls._kw_only
    if not keyword:  # in order, as Python allows: no required field after a default
        given = [field for field in fields if defaults[field] is not _REQUIRED]
        if given and any(defaults[field] is _REQUIRED for field in fields[fields.index(given[0]):]):
            raise TypeError(f"{cls.__name__}: a field without a default follows one with a default")
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
