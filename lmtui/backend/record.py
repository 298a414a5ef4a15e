"""``Record``: equality, hashing and repr written once for lmtui's frozen dataclasses.

``@dataclass(frozen=True, slots=True)`` compiles six methods per class (``exec`` of
generated source, ~0.05 ms each on Python 3.11): ``lmtui ask`` alone creates some sixty
such classes before it sends a request. A frozen dataclass declared with
``eq=False, repr=False`` and subclassing :class:`Record` gets the same ``__eq__``,
``__hash__`` and ``__repr__`` from here instead: three compilations fewer per class
(benchmarks/README.md, "Session 7: `lmtui ask`"). The dataclass still generates
``__init__`` and the frozen ``__setattr__`` / ``__delattr__``.

Each method behaves as the generated one does: ``==`` compares the fields with
``compare=True``, as a tuple, between instances of the same class only
(``NotImplemented`` otherwise); ``hash`` hashes the tuple of the fields that
``hash=`` (or, unset, ``compare=``) keeps; ``repr`` is ``Name(field=value, …)`` over
the fields with ``repr=True``, ``...`` where an instance contains itself.
tests/backend/test_record.py holds each against a plain frozen dataclass.
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any

# Per class: what == compares, what hash() hashes (as tuple getters), what repr shows.
_SHAPES: dict[type, tuple[Any, Any, tuple[str, ...]]] = {}


def _tuple_getter(names: tuple[str, ...]) -> Any:
    """A function returning the named attributes of an object as a tuple."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return attrgetter(*names)


def _shape(cls: type) -> tuple[Any, Any, tuple[str, ...]]:
    """The compare and hash getters and the repr names of ``cls``, made on first use."""
    shape = _SHAPES.get(cls)
    if shape is None:
        found = fields(cls)
        compared = tuple(f.name for f in found if f.compare)
        hashed = tuple(f.name for f in found if (f.compare if f.hash is None else f.hash))
        shown = tuple(f.name for f in found if f.repr)
        shape = _SHAPES[cls] = (_tuple_getter(compared), _tuple_getter(hashed), shown)
    return shape


class Record:
    """Base of a frozen dataclass declared with ``eq=False, repr=False`` (see the module).

    It adds no slots and no fields.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        compared = _shape(self.__class__)[0]
        result: bool = compared(self) == compared(other)
        return result

    def __hash__(self) -> int:
        return hash(_shape(self.__class__)[1](self))

    @recursive_repr()
    def __repr__(self) -> str:
        shown = _shape(self.__class__)[2]
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({values})"
