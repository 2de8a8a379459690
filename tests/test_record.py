"""specc.record: the dataclass subset the check path's values are made of."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from specc import kinds
from specc.diagnostics import Span
from specc.record import NamedTuple, Record

SPECS = Path(__file__).resolve().parent.parent / "specs"


class Shape(Record, kw_only=True):
    kind: ClassVar[str] = "shape"  # a class attribute, not a field
    name: str
    sides: int = 0


class Square(Shape):
    sides: int = 4  # a new default for an inherited field
    side: float = 1.0


class Point(Record, eq=True):
    x: int
    y: int = 0


def test_fields_are_declared_in_order_with_a_subclass_after_its_base() -> None:
    assert Shape._fields == ("name", "sides")
    assert Square._fields == ("name", "sides", "side")
    assert Square.kind == "shape" and "kind" not in Square._fields
    square = Square(name="s")
    assert (square.name, square.sides, square.side) == ("s", 4, 1.0)
    assert Shape(name="t").sides == 0


def test_fields_are_slots() -> None:
    square = Square(name="s")
    assert not hasattr(square, "__dict__")
    with pytest.raises(AttributeError):
        square.colour = "red"


def test_init_takes_keywords_only_where_the_class_says_so() -> None:
    with pytest.raises(TypeError, match="positional"):
        Shape("s")
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'name'"):
        Shape()
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Shape(name="s", colour="red")
    assert Point(1).y == 0 and Point(1, 2).y == Point(x=1, y=2).y == 2


def test_a_required_field_after_a_default_is_refused_in_order() -> None:
    with pytest.raises(TypeError, match="Bad: a field without a default follows one with a default"):
        class Bad(Record):
            a: int = 0
            b: int


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    square = Square(name="s", side=2.0)
    bigger = square._replace(side=3.0)
    assert bigger is not square and type(bigger) is Square
    assert (bigger.name, bigger.sides, bigger.side, square.side) == ("s", 4, 3.0, 2.0)
    with pytest.raises(TypeError, match="Square has no field 'colour'"):
        square._replace(colour="red")


def test_records_compare_by_identity_unless_eq() -> None:
    assert Square(name="s") != Square(name="s")
    one = Square(name="s")
    assert one == one and len({one, one}) == 1
    assert Point(1, 2) == Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert Point(1, 2) != (1, 2)


def test_repr_names_every_field() -> None:
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"
    assert repr(Square(name="s")) == "Square(name='s', sides=4, side=1.0)"


def test_records_pickle() -> None:  # multiprocessing and copy rely on it
    assert pickle.loads(pickle.dumps(Point(1, 2))) == Point(1, 2)
    square = pickle.loads(pickle.dumps(Square(name="s", side=2.0)))
    assert (square.name, square.side) == ("s", 2.0)


def test_the_ir_layers_are_records() -> None:
    conv = kinds.Conv(kind="conv", name="c1", labelled=False, span=Span.at(3), filters=6, kernel=(5, 5))
    assert conv.stride == (1, 1) and conv.spans == {} and conv.inputs == ()
    assert kinds.DepthwiseConv._fields[-1] == "multiplier" and kinds.DepthwiseConv._defaults["filters"] is None
    assert repr(conv) == "<Conv c1 (line 3)>"
    assert conv._replace(filters=8).filters == 8 and conv.filters == 6


def test_check_imports_neither_dataclasses_nor_inspect() -> None:
    """`specc check`'s cold start (issue 16): dataclasses imports inspect, ast and dis.
    (Lark imports dataclasses too: a spec with blocks, read by Lark, pays for it.)"""
    code = ("import sys; before = set(sys.modules); from specc.cli import main; main(['check', '-q', sys.argv[1]]); "
            "print(sorted(m for m in ('dataclasses', 'inspect', 'ast', 'dis') if m in set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code, str(SPECS / "lenet5.cnn")], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_class_vars_are_told_apart_without_postponed_annotations() -> None:
    namespace: dict = {}
    exec("import typing\nfrom specc.record import Record\n"  # no `from __future__ import annotations` here
         "class Flag(Record):\n    count: typing.ClassVar[int] = 0\n    name: str = 'x'\n", namespace)
    assert namespace["Flag"]._fields == ("name",) and namespace["Flag"].count == 0


class Pair(NamedTuple):
    """Two numbers."""

    left: int
    right: int = 0

    @property
    def total(self) -> int:
        return self.left + self.right


def test_named_tuples_are_collections_named_tuples_with_their_class_body() -> None:
    assert Pair(1) == (1, 0) and Pair(1, 2).total == 3 and Pair(right=2, left=1) == Pair(1, 2)
    assert Pair._fields == ("left", "right") and Pair._field_defaults == {"right": 0}
    assert Pair.__doc__ == "Two numbers." and Pair.__module__ == __name__ and Pair.__qualname__ == "Pair"
    assert Pair.__annotations__ == {"left": "int", "right": "int"}  # as written, not checked
    assert Pair(1, 2)._replace(right=5) == (1, 5) and repr(Pair(1, 2)) == "Pair(left=1, right=2)"
    assert pickle.loads(pickle.dumps(Pair(1, 2))) == Pair(1, 2) and isinstance(Pair(1), tuple)


def test_named_tuples_refuse_what_typing_refuses() -> None:
    with pytest.raises(TypeError, match="Bad: a field without a default follows one with a default"):
        class Bad(NamedTuple):
            a: int = 0
            b: int
    with pytest.raises(AttributeError, match="cannot overwrite _replace"):
        class Worse(NamedTuple):
            a: int

            def _replace(self) -> None: ...


def test_named_tuples_compile_no_annotation() -> None:
    """typing.NamedTuple compiles a ForwardRef per field (60 us a class): the check path's named tuples do not
    (but specc.diagnostics', which `import specc` loads: it stays as small as it was)."""
    code = ("import specc, typing; calls = []; check = typing._type_check\n"
            "typing._type_check = lambda arg, *a, **k: calls.append(arg) or check(arg, *a, **k)\n"
            "import specc.pipeline, specc.cli.commands.check; print([c for c in calls if isinstance(c, str)])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_a_record_class_writes_its_init_at_its_first_instance() -> None:
    class Late(Record):
        a: int
        b: int = 2

    assert Late.__init__.__qualname__.startswith("_first_init")
    assert (Late(1).a, Late(1).b) == (1, 2)
    assert Late.__init__.__qualname__.endswith("Late.__init__")
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        class Later(Record):
            a: int
        Later()
