"""Typed rows: asyncpg records with typed, read-only attributes.

Selectors return rows as subclasses of :class:`Row`, passed to asyncpg as ``record_class``:
asyncpg builds them in C while it decodes the result, so a page of 50 rows costs no Python
per row (building a dataclass and decoding its JSON columns per row cost more than the query
itself; see ``bench/``). A row is immutable, compares by value, and gives typed attributes:

    class ClipRecord(Row):
        id = Column[uuid.UUID]()
        features = JsonColumn()             # decoded on each access, never on fetch
        status = EnumColumn(ClipStatus)

Each attribute reads the column of its own name, so the SELECT must name its columns alike.
:meth:`Row.as_dict` gives every column decoded, for JSON responses.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Generic, TypeVar, overload

from asyncpg import Record

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


class Column(Generic[T]):
    """The column of the attribute's name, as asyncpg decoded it."""

    __slots__ = ("name",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Column[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object, owner: type) -> Column[T] | T:
        if instance is None:
            return self
        value: T = instance[self.name]  # type: ignore[index]
        return value


class JsonColumn(Column[dict[str, Any]]):
    """A JSONB column holding an object, decoded on each access (a fresh dict every time)."""

    __slots__ = ()

    @overload
    def __get__(self, instance: None, owner: type) -> JsonColumn: ...

    @overload
    def __get__(self, instance: object, owner: type) -> dict[str, Any]: ...

    def __get__(self, instance: object, owner: type) -> JsonColumn | dict[str, Any]:
        if instance is None:
            return self
        value: dict[str, Any] = json.loads(instance[self.name])  # type: ignore[index]
        return value


class EnumColumn(Column[E]):
    """A text column holding the value of an enum member; gives the member."""

    __slots__ = ("members",)

    def __init__(self, enum: type[E]) -> None:
        self.members: dict[Any, E] = {member.value: member for member in enum}

    @overload
    def __get__(self, instance: None, owner: type) -> EnumColumn[E]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> E: ...

    def __get__(self, instance: object, owner: type) -> EnumColumn[E] | E:
        if instance is None:
            return self
        return self.members[instance[self.name]]  # type: ignore[index]


class Row(Record):  # type: ignore[misc]  # asyncpg ships no type information
    """Base of the typed rows the selectors return."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        """Every column by name, JSON decoded and enums as members."""
        return {name: getattr(self, name, self[name]) for name in self.keys()}
