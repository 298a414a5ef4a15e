"""``Record``'s ==, hash and repr against the methods a plain frozen dataclass generates."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from dataclasses import FrozenInstanceError, dataclass, field

import pytest

import lmtui
from lmtui.backend.record import Record


@dataclass(frozen=True, slots=True)
class PlainPoint:
    x: float
    y: float = 0.0
    tags: tuple[object, ...] = ()
    note: str = field(default="", compare=False)
    secret: str = field(default="", repr=False)
    unhashed: str = field(default="", hash=False)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Point(Record):
    x: float
    y: float = 0.0
    tags: tuple[object, ...] = ()
    note: str = field(default="", compare=False)
    secret: str = field(default="", repr=False)
    unhashed: str = field(default="", hash=False)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class OtherPoint(Record):
    x: float
    y: float = 0.0
    tags: tuple[object, ...] = ()
    note: str = field(default="", compare=False)
    secret: str = field(default="", repr=False)
    unhashed: str = field(default="", hash=False)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class One(Record):
    value: float


@dataclass(frozen=True, slots=True)
class PlainOne:
    value: float


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Empty(Record):
    pass


@dataclass(frozen=True, slots=True)
class PlainEmpty:
    pass


NAN = float("nan")
ARGS = [
    (1.0,),
    (1.0, 2.0),
    (1.0, 2.0, ("a", 1)),
    (1.0, 2.0, (), "a note"),
    (1.0, 2.0, (), "", "hidden"),
    (1.0, 2.0, (), "", "", "not hashed"),
    (NAN,),
]


def shown(text: str) -> str:
    return text.replace("PlainPoint", "Point").replace("PlainOne", "One")


@pytest.mark.parametrize("args", ARGS, ids=str)
def test_repr_and_hash_as_a_dataclass_makes_them(args: tuple[object, ...]) -> None:
    ours, plain = Point(*args), PlainPoint(*args)  # type: ignore[arg-type]
    assert repr(ours) == shown(repr(plain))
    assert hash(ours) == hash(plain)


@pytest.mark.parametrize("left", ARGS, ids=str)
@pytest.mark.parametrize("right", ARGS, ids=str)
def test_equality_as_a_dataclass_makes_it(
    left: tuple[object, ...], right: tuple[object, ...]
) -> None:
    a, b = Point(*left), Point(*right)  # type: ignore[arg-type]
    plain_a, plain_b = PlainPoint(*left), PlainPoint(*right)  # type: ignore[arg-type]
    assert (a == b) == (plain_a == plain_b)
    assert (a != b) == (plain_a != plain_b)
    assert (a == a) == (plain_a == plain_a)  # NaN: the same object, so equal, as in a tuple


def test_one_field_and_no_field() -> None:
    assert repr(One(NAN)) == repr(PlainOne(NAN)).replace("PlainOne", "One")
    assert hash(One(1.5)) == hash(PlainOne(1.5))
    # Two NaN objects differ, one NaN object is itself: as in the dataclass's tuples.
    assert One(float("nan")) != One(float("nan"))
    assert PlainOne(float("nan")) != PlainOne(float("nan"))
    assert One(NAN) == One(NAN) and PlainOne(NAN) == PlainOne(NAN)
    assert repr(Empty()) == "Empty()" and repr(PlainEmpty()) == "PlainEmpty()"
    assert Empty() == Empty() and hash(Empty()) == hash(PlainEmpty())


def test_other_classes_are_never_equal() -> None:
    assert Point(1.0) != OtherPoint(1.0)
    assert Point(1.0) != (1.0, 0.0, ())
    assert Point(1.0).__eq__(OtherPoint(1.0)) is NotImplemented


def test_a_record_holding_itself_repr_does_not_recurse() -> None:
    box: list[object] = []
    point = Point(1.0, tags=(box,))
    box.append(point)
    plain_box: list[object] = []
    plain = PlainPoint(1.0, tags=(plain_box,))
    plain_box.append(plain)
    assert repr(point) == shown(repr(plain))
    assert "..." in repr(point)


def test_still_frozen_slotted_and_usable_as_keys() -> None:
    point = Point(1.0)
    with pytest.raises(FrozenInstanceError):
        point.x = 2.0  # type: ignore[misc]
    assert not hasattr(point, "__dict__")
    assert {Point(1.0): "a"}[Point(1.0, note="other note")] == "a"
    assert dataclasses.replace(point, y=3.0) == Point(1.0, 3.0)


def test_every_frozen_dataclass_below_the_ui_is_a_record() -> None:
    """A new frozen dataclass takes Record too, so no class pays the six compilations."""
    plain: list[str] = []
    for info in pkgutil.walk_packages(lmtui.__path__, "lmtui."):
        if info.name.startswith("lmtui.ui") or info.name == "lmtui.__main__":
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != info.name or not dataclasses.is_dataclass(cls):
                continue
            params = cls.__dataclass_params__  # type: ignore[attr-defined]
            if params.frozen and not issubclass(cls, Record):
                plain.append(f"{info.name}.{name}")
    assert plain == []
